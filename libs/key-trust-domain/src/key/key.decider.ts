import { ForgeOneError, KEY_EVENT_TYPES, type KeyEvent } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { KeyCommand } from './key.commands.js';
import { evolveTrustStore, initialTrustStore, type KeyEventLike, type TrustedKey, type TrustStore } from './key.state.js';

/**
 * Decides a command on one key: `current` is the key as the tenant's store holds it (undefined if
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
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown key command ${(unknown as { type: string }).type}`);
    }
  }
}

/**
 * The `key` aggregate (`<tenant>:<keyId>`) as a decider: its state is the trust store folded from
 * that one key's events, so it holds at most the key the command names.
 */
export const keyDecider: Decider<KeyCommand, KeyEvent, TrustStore> = {
  initialState: initialTrustStore,
  decide: (command, state) => decideKeyCommand(command, state.keys.get(command.data.keyId)),
  evolve: (state, event) => evolveTrustStore(state, event as KeyEventLike),
};
