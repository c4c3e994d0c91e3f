import { hash } from 'node:crypto';

/** What a cache key is made of; the credential is only ever stored as its sha256. */
export interface DecisionKeyParts {
  readonly credential: string;
  /** The credential's {@link credentialDigest}, when the caller has it already. */
  readonly digest?: string;
  readonly action: string;
  readonly resource: unknown;
  readonly context?: unknown;
}

/** sha256 of a credential in hex: the cache never holds a token, only its digest. */
export function credentialDigest(credential: string): string {
  return hash('sha256', credential, 'hex');
}

/**
 * The cache key of one question to policy. Objects are serialised with sorted keys and empty
 * attributes or context count as absent, so equal questions share a key however they were written.
 */
export function decisionCacheKey(parts: DecisionKeyParts): string {
  return `${parts.digest ?? credentialDigest(parts.credential)}\n${parts.action}\n${keyJson(parts.resource)}\n${stableJson(parts.context ?? {})}`;
}

// The text of an object that can never change (frozen, with data properties only, and every object in it
// likewise) is made once: a caller asking about the same frozen resource on every call reuses it.
const immutableJson = new WeakMap<object, string>();

function keyJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return stableJson(value);
  const known = immutableJson.get(value);
  if (known !== undefined) return known;
  const json = stableJson(value);
  if (immutable(value)) immutableJson.set(value, json);
  return json;
}

function immutable(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) {
    if (!('value' in descriptor)) return false;
    const v: unknown = descriptor.value;
    if (v !== null && typeof v === 'object' && !immutable(v)) return false;
  }
  return true;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    let out = '';
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || (isPlainObject(v) && Object.keys(v).length === 0)) continue;
      out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${stableJson(v)}`;
    }
    return `{${out}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface TtlCacheOptions {
  /** How long an entry lives; 0 disables the cache (nothing is stored). */
  readonly ttlMs: number;
  /** Oldest entries are evicted beyond this many (default 10 000). */
  readonly maxEntries?: number;
  /** Milliseconds clock, for tests. */
  readonly now?: () => number;
}

export interface TtlCacheStats {
  readonly hits: number;
  readonly misses: number;
  /** How many times the whole cache was cleared. */
  readonly invalidations: number;
  readonly size: number;
}

/**
 * A map whose entries expire after a TTL and that can be cleared at once. A generation number,
 * bumped by every clear, lets a caller refuse to store an answer that was asked before the clear
 * (it may predate the policy change that caused it).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private counters = { hits: 0, misses: 0, invalidations: 0 };
  private currentGeneration = 0;

  constructor(options: TtlCacheOptions) {
    if (!Number.isInteger(options.ttlMs) || options.ttlMs < 0) throw new RangeError(`ttlMs must be a non-negative integer, got ${options.ttlMs}`);
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Increases on every {@link clear}. */
  get generation(): number {
    return this.currentGeneration;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) {
      this.counters.hits++;
      return entry.value;
    }
    if (entry) this.entries.delete(key);
    this.counters.misses++;
    return undefined;
  }

  /** Stores `value` unless the cache is disabled or was cleared since `generation` was read. */
  set(key: string, value: V, generation = this.currentGeneration): boolean {
    if (!this.enabled || generation !== this.currentGeneration) return false;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.currentGeneration++;
    this.counters.invalidations++;
  }

  stats(): TtlCacheStats {
    return { ...this.counters, size: this.entries.size };
  }
}

/**
 * The digests of the credentials seen lately, so a caller repeating its token is not hashed on every
 * question. The tokens themselves are held in memory only (as the request that carried them was),
 * never in a decision key, a log or an event; at most `maxEntries`, and forgotten with the decisions.
 */
export class CredentialDigests {
  private readonly digests = new Map<string, string>();

  constructor(private readonly maxEntries = 10_000) {}

  of(credential: string): string {
    let digest = this.digests.get(credential);
    if (digest === undefined) {
      digest = credentialDigest(credential);
      // Cleared rather than evicted one by one: a full memo means many callers, each hashed once more.
      if (this.digests.size >= this.maxEntries) this.digests.clear();
      this.digests.set(credential, digest);
    }
    return digest;
  }

  clear(): void {
    this.digests.clear();
  }
}
