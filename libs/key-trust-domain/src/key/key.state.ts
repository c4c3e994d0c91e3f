import { KEY_EVENT_TYPES, KeyRevokedSchema, KeyTrustedSchema } from '@forgeone/contracts';

/** A key as the trust store holds it. Times are ISO 8601 strings. */
export interface TrustedKey {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly publisher: string;
  readonly scope: string;
  readonly validFrom: string;
  readonly validUntil: string | null;
  readonly trustedBy: string;
  /** When the trust event was recorded (its envelope time), when known. */
  readonly trustedAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedReason: string | null;
  readonly revokedBy: string | null;
}

/** The trust store of one tenant: every key ever trusted, by key id, revoked ones included. */
export interface TrustStore {
  readonly keys: ReadonlyMap<string, TrustedKey>;
}

/** A key event as the fold takes it: the stored CloudEvent, or just its type and data. */
export interface KeyEventLike {
  readonly type: string;
  readonly data: unknown;
  /** CloudEvent time; becomes `trustedAt`. */
  readonly time?: string;
}

export function initialTrustStore(): TrustStore {
  return { keys: new Map() };
}

/**
 * Folds one key event into the store. Pure; events of other types and events that do not fit the
 * store (a revocation of an unknown key, a second trust of one key) leave it unchanged, so a replay
 * of the stream always yields the same store.
 */
export function evolveTrustStore(state: TrustStore, event: KeyEventLike): TrustStore {
  if (event.type === KEY_EVENT_TYPES.trusted) {
    const parsed = KeyTrustedSchema.safeParse(event.data);
    if (!parsed.success || state.keys.has(parsed.data.keyId)) return state;
    const keys = new Map(state.keys);
    keys.set(parsed.data.keyId, { ...parsed.data, trustedAt: event.time ?? null, revokedAt: null, revokedReason: null, revokedBy: null });
    return { keys };
  }
  if (event.type === KEY_EVENT_TYPES.revoked) {
    const parsed = KeyRevokedSchema.safeParse(event.data);
    const current = parsed.success ? state.keys.get(parsed.data.keyId) : undefined;
    if (!parsed.success || !current || current.revokedAt !== null) return state;
    const keys = new Map(state.keys);
    keys.set(current.keyId, { ...current, revokedAt: parsed.data.revokedAt, revokedReason: parsed.data.reason, revokedBy: parsed.data.revokedBy });
    return { keys };
  }
  return state;
}

/** Builds a store from events in stream order. */
export function trustStoreOf(events: Iterable<KeyEventLike>): TrustStore {
  let state = initialTrustStore();
  for (const event of events) state = evolveTrustStore(state, event);
  return state;
}
