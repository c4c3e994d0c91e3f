import { WasmBinaryReader } from './wasm-binary.reader.js';
import type { WasmBinaryWriter } from './wasm-binary.writer.js';
import { InstructionKind, WasmInstructionIterator } from './wasm-instruction.decoder.js';
import type { MeteringGlobals } from './wasm-metering.contract.js';
import type { BalanceCell } from './wasm-metering.threading.js';
import { IF_EMPTY, OP } from './wasm-opcodes.js';

/**
 * A check: when the balance is below `cost`, store it, raise the out-of-fuel flag and trap; else
 * charge `cost`. Used at function entry and loop headers (every block with `checkEveryBlock`).
 */
export function writeCheck(w: WasmBinaryWriter, cost: number, g: MeteringGlobals, cell: BalanceCell): void {
  cell.load(w).byte(OP.i64Const).varInt(cost).byte(OP.i64LtS).bytes(IF_EMPTY);
  cell.sync(w);
  w.byte(OP.i32Const).varInt(1).byte(OP.globalSet).varUint(g.outOfFuel).byte(OP.unreachable).byte(OP.end);
  writeCharge(w, cost, cell);
}

/** A charge: the balance minus `cost`, unchecked (it may go negative until the next check). */
export function writeCharge(w: WasmBinaryWriter, cost: number, cell: BalanceCell): void {
  cell.store(cell.load(w).byte(OP.i64Const).varInt(cost).byte(OP.i64Sub));
}

/**
 * Instructions on the longest path through a loop-free body: a sequence costs the sum of its
 * instructions, an if/else its condition plus the dearer arm. Branches only shorten paths.
 */
export function longestPathCost(bytes: Uint8Array, start: number, end: number, index: number): number {
  const code = new WasmInstructionIterator(new WasmBinaryReader(bytes, start, end, `body of function ${index}`));
  const frames: { cost: number; thenCost: number | undefined }[] = [{ cost: 0, thenCost: undefined }];
  while (!code.atEnd) {
    const kind = code.next();
    const top = frames[frames.length - 1];
    top.cost++;
    if (kind === InstructionKind.block || kind === InstructionKind.if) {
      frames.push({ cost: 0, thenCost: undefined });
    } else if (kind === InstructionKind.else) {
      top.thenCost = top.cost;
      top.cost = 0;
    } else if (kind === InstructionKind.end && frames.length > 1) {
      const done = frames.pop()!;
      frames[frames.length - 1].cost += Math.max(done.cost, done.thenCost ?? 0);
    }
  }
  return frames[0].cost;
}

/**
 * Splits a body into basic blocks at function entry, loop headers, if/else arms, block ends and after
 * unconditional jumps, and inserts each block's charge at its start. `br_if` does not split: the rest
 * of its block is charged up front (a bounded, deterministic overcharge that saves a charge per loop).
 * A loop-free function (`wholeFunction` set) is charged once, at entry, instead.
 */
export class BasicBlockCharges {
  private start: number;
  private isCheck = true;
  private cost = 0;
  checks = 0;
  charges = 0;

  constructor(
    bodyStart: number,
    private readonly g: MeteringGlobals,
    private readonly cell: BalanceCell,
    private readonly checkEveryBlock: boolean,
    private readonly wholeFunction: number | undefined,
    /** Opens an insertion at `pos` (before what else goes there) and returns where to write it. */
    private readonly insertAt: (pos: number) => WasmBinaryWriter,
  ) {
    this.start = bodyStart;
  }

  /** One more instruction in the current block. */
  count(): void {
    this.cost++;
  }

  /** Ends the current block and starts one at `next` (a loop header when `isCheck`). */
  split(next: number, isCheck: boolean): void {
    this.close();
    this.start = next;
    this.isCheck = isCheck;
    this.cost = 0;
  }

  /** The check of a loop-free function at `localsEnd`, once its body was walked. */
  finish(localsEnd: number): void {
    if (this.wholeFunction === undefined) return;
    writeCheck(this.insertAt(localsEnd), this.wholeFunction, this.g, this.cell);
    this.checks++;
  }

  private close(): void {
    if (this.wholeFunction !== undefined) return;
    if (this.isCheck || this.checkEveryBlock) {
      writeCheck(this.insertAt(this.start), this.cost, this.g, this.cell);
      this.checks++;
    } else if (this.cost > 0) {
      writeCharge(this.insertAt(this.start), this.cost, this.cell);
      this.charges++;
    }
  }
}
