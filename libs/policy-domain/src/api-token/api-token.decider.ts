import { ForgeOneError, IDENTITY_EVENT_TYPES, type TokenEvent } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ApiTokenCommand } from './api-token.commands.js';

/** What deciding on one token needs: whether it was issued (and which) and whether it is revoked. */
export interface ApiTokenState {
  readonly tokenId: string | null;
  readonly revoked: boolean;
}

export function initialApiTokenState(): ApiTokenState {
  return { tokenId: null, revoked: false };
}

/**
 * One `token` aggregate holds one token. Issuing is done once: issuing again changes nothing (of
 * two replicas issuing the first start's bootstrap token, one writes it and the other learns it was
 * not the one). Revoking a revoked token changes nothing; revoking a token never issued is refused.
 */
export function decideApiToken(command: ApiTokenCommand, state: ApiTokenState): TokenEvent[] {
  switch (command.type) {
    case 'IssueApiToken':
      return state.tokenId === null ? [{ type: IDENTITY_EVENT_TYPES.tokenIssued, data: command.data }] : [];
    case 'RevokeApiToken': {
      const { tokenId } = command.data;
      if (state.tokenId !== tokenId) throw new ForgeOneError('IDENTITY.TOKEN_NOT_FOUND', `there is no token ${tokenId}; list tokens with token list`, { tokenId });
      return state.revoked ? [] : [{ type: IDENTITY_EVENT_TYPES.tokenRevoked, data: command.data }];
    }
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown token command ${(unknown as { type: string }).type}`);
    }
  }
}

export function evolveApiToken(state: ApiTokenState, event: TokenEvent): ApiTokenState {
  switch (event.type) {
    case IDENTITY_EVENT_TYPES.tokenIssued:
      return state.tokenId === null ? { tokenId: event.data.tokenId, revoked: false } : state;
    case IDENTITY_EVENT_TYPES.tokenRevoked:
      return event.data.tokenId === state.tokenId ? { ...state, revoked: true } : state;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The API token aggregate (`token`, id the token id or the bootstrap id) as the shared command handler takes it. */
export const apiTokenDecider: Decider<ApiTokenCommand, TokenEvent, ApiTokenState> = {
  initialState: initialApiTokenState,
  decide: decideApiToken,
  evolve: evolveApiToken,
};
