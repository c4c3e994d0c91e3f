import { ForgeOneError, KEY_EVENT_TYPES, KeyRevokedSchema, KeyTrustedSchema, type KeyEvent } from '@forgeone/contracts';

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

/** Commands on one key (the `key` aggregate). Ids, times and the actor arrive with the command. */
export type KeyCommand =
  | {
      readonly type: 'TrustKey';
      readonly data: { keyId: string; publicKeyPem: string; publisher: string; scope: string; validFrom: string; validUntil: string | null; trustedBy: string };
    }
  | { readonly type: 'RevokeKey'; readonly data: { keyId: string; revokedAt: string; reason: string; revokedBy: string } };

/**
 * The key aggregate's decider: `current` is the key as the tenant's store holds it (undefined if
 * never trusted). A key is trusted once and revoked once; a revoked key is never trusted again
 * (generate a new key instead), so a revocation cannot be undone by accident.
 */
export function decideKeyCommand(command: KeyCommand, current: TrustedKey | undefined): KeyEvent[] {
  switch (command.type) {
    case 'TrustKey': {
      const { keyId } = command.data;
      if (current?.revokedAt) {
        throw new ForgeOneError('KEY.ALREADY_REVOKED', `key ${keyId} was revoked at ${current.revokedAt} (${current.revokedReason}); a revoked key stays revoked: generate a new key and trust that`, { keyId });
      }
      if (current) throw new ForgeOneError('KEY.ALREADY_TRUSTED', `key ${keyId} is already trusted for publisher ${current.publisher} (scope ${current.scope})`, { keyId });
      if (command.data.validUntil !== null && Date.parse(command.data.validUntil) <= Date.parse(command.data.validFrom)) {
        throw new ForgeOneError('COMMAND.INVALID', `validUntil ${command.data.validUntil} is not after validFrom ${command.data.validFrom}`, { keyId });
      }
      return [{ type: KEY_EVENT_TYPES.trusted, data: command.data }];
    }
    case 'RevokeKey': {
      const { keyId } = command.data;
      if (!current) throw new ForgeOneError('KEY.NOT_FOUND', `key ${keyId} is not in the trust store; forgeone keys list shows the keys`, { keyId });
      if (current.revokedAt) throw new ForgeOneError('KEY.ALREADY_REVOKED', `key ${keyId} was already revoked at ${current.revokedAt}`, { keyId, revokedAt: current.revokedAt });
      return [{ type: KEY_EVENT_TYPES.revoked, data: command.data }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown key command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Whether `name` (`<publisher>/<plugin>`) is matched by a scope glob; `*` matches within one segment. */
export function scopeMatches(scope: string, name: string): boolean {
  const pattern = scope
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('[a-z0-9-]*');
  return new RegExp(`^${pattern}$`).test(name);
}
