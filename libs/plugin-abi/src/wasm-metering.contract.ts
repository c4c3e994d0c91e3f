import type { WasmModuleInfo } from './wasm-module.types.js';

/** Exports the rewriter adds; a module that already uses one of these names is refused. */
export const METERING_EXPORTS = {
  /** Mutable i64 global: fuel left. The host sets it before a call and reads it after. */
  fuel: '__forgeone_fuel',
  /** Mutable i32 global set to 1 just before a trap caused by running out of fuel. */
  outOfFuel: '__forgeone_out_of_fuel',
  /** Mutable i32 global set to 1 when a `memory.grow` returned -1 (the memory cap was hit); {@link written} is then all ones too. */
  growRefused: '__forgeone_grow_refused',
  /** The module's start function, exported instead of run on instantiation; the host calls it first. */
  start: '__forgeone_start',
  /** Prefix of the exports of the module's own mutable globals (`__forgeone_global_<index>`), so the host can reset them. */
  globalPrefix: '__forgeone_global_',
  /**
   * Mutable i32 global: where the code wrote memory since the host last set it to 0, as
   * `reset.writeTracking` says. `high-water`: the bitwise OR of the address of every store (and of the
   * end of every memory.fill/copy/init); an OR of addresses is at least their maximum, so every byte
   * written lies below it plus 8. `buckets`: one bit per bucket of `2 ** shift` bytes (bit i: a write
   * starting in bucket i; a store may run up to 7 bytes into the next bucket; memory.fill/copy/init
   * set every bucket they cover). `distance`: the OR, over every store address `a`, of how far `a`
   * lies from `pivot`, folded to a non-negative number (`a - pivot` above it, `pivot - a - 1` below;
   * both ends of every memory.fill/copy/init), so every byte written lies in
   * `[pivot - written - 1, pivot + written + 8)`. All ones once a call entered a loop whose stores
   * are too dense to track one by one, or a `memory.grow` was refused.
   */
  written: '__forgeone_written',
} as const;

/** Every export name starting with this is reserved for the sandbox. */
export const RESERVED_EXPORT_PREFIX = '__forgeone_';

export interface MeterWasmOptions {
  /** Linear memory cap in 64 KiB pages; the rewritten memory never declares a larger maximum. */
  readonly memoryCapPages: number;
  /**
   * Check (and trap) at every basic block, not only at function entry and loop headers.
   * Off by default: between two checks a guest can only run straight-line code, so the overdraft
   * is bounded by one function's size, and the host reports a negative balance as exhausted.
   */
  readonly checkEveryBlock?: boolean;
}

/** How {@link METERING_EXPORTS.written} records writes; see {@link MeteredWasmModule.reset}. */
export type WriteTracking =
  | { readonly kind: 'high-water' }
  | { readonly kind: 'buckets'; readonly shift: number }
  | { readonly kind: 'distance'; readonly pivot: number };

export interface MeteredWasmModule {
  readonly bytes: Uint8Array;
  /** Limits of the memory after capping (pages); undefined when the module has no memory. */
  readonly memory: { readonly initialPages: number; readonly maximumPages: number; readonly declaredMaximumPages: number | undefined } | undefined;
  /** True when the module had a start function, now exported as {@link METERING_EXPORTS.start}. */
  readonly hasStart: boolean;
  /**
   * How the host can return an instance to its state right after instantiation: memory from a
   * snapshot, plus these exported mutable globals. `resettable` is false when the code can change
   * state the host cannot see or restore (tables via table.set/grow/fill/copy/init, dropped data or
   * element segments); such a module gets a fresh instance for every call.
   *
   * `writeTracking` says how to read {@link METERING_EXPORTS.written}: a high-water mark for small
   * memories (where restoring from 0 up is cheap and one OR per store is all it costs); for larger
   * ones, whose writes are often far apart, the distance from the initial stack pointer when the
   * module has one (toolchains put the stack below it and the data and heap above it, so a call's
   * writes gather around it), else 32 buckets covering the initial memory (1 KiB each at least);
   * when the memory is larger than those by the time the host snapshots it (a start function grew
   * it), the bits say nothing and the host restores everything.
   */
  readonly reset: { readonly resettable: boolean; readonly globals: readonly string[]; readonly writeTracking: WriteTracking; readonly reason?: string };
  readonly stats: { readonly functions: number; readonly instructions: number; readonly checks: number; readonly charges: number; readonly trackedWrites: number; readonly untrackedLoops: number };
}

/**
 * Indices of the globals the rewriter appends after the module's own, and what the write tracker
 * records; fixed before any code is rewritten.
 */
export interface MeteringGlobals {
  readonly fuel: number;
  readonly outOfFuel: number;
  readonly growRefused: number;
  readonly growScratch: number;
  readonly written: number;
  /** How {@link METERING_EXPORTS.written} records writes. */
  readonly tracking: WriteTracking;
  /** Absolute indices of the module's own mutable globals, exported for resets. */
  readonly mutable: readonly number[];
}

/** Counts the rewrite reports, and the state changes that make a module not resettable. */
export interface MeteringStats {
  functions: number;
  instructions: number;
  checks: number;
  charges: number;
  trackedWrites: number;
  untrackedLoops: number;
  stateChanges: string[];
}

/** What every part of a rewrite reads: the module, its inspection and the options. */
export interface MeteringInput {
  readonly bytes: Uint8Array;
  readonly info: WasmModuleInfo;
  readonly globals: MeteringGlobals;
  readonly checkEveryBlock: boolean;
}
