import { ForgeOneError, IDENTITY_EVENT_TYPES, type TokenEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { ApiTokenCommand } from './api-token.commands.js';
import { apiTokenDecider } from './api-token.decider.js';

const TOKEN = 'tok12345';
const issueData = { tokenId: TOKEN, principal: 'dev-1', principalType: 'user' as const, role: 'developer' as const, tenant: 'acme', secretHash: 'a'.repeat(64), issuedBy: 'adm-1' };
const revokeData = { tokenId: TOKEN, reason: 'left the team', revokedBy: 'adm-1' };
const issue: ApiTokenCommand = { type: 'IssueApiToken', data: issueData };
const revoke: ApiTokenCommand = { type: 'RevokeApiToken', data: revokeData };
const issued: TokenEvent = { type: IDENTITY_EVENT_TYPES.tokenIssued, data: issueData };
const revoked: TokenEvent = { type: IDENTITY_EVENT_TYPES.tokenRevoked, data: revokeData };

/** Given past events of one token, when a command is decided, then these events (or this error code). */
function given(events: TokenEvent[]) {
  const state = events.reduce(apiTokenDecider.evolve, apiTokenDecider.initialState());
  return {
    when: (command: ApiTokenCommand) => ({
      then: (expected: TokenEvent[]) => expect(apiTokenDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string) => {
        let caught: unknown;
        try {
          apiTokenDecider.decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
      },
    }),
  };
}

describe('api token decider - issue', () => {
  it('issues the token of a new aggregate', () => {
    given([]).when(issue).then([issued]);
  });
  it('issues once: a second issue on the aggregate (a racing replica) changes nothing', () => {
    given([issued]).when({ type: 'IssueApiToken', data: { ...issueData, tokenId: 'other123' } }).then([]);
  });
});

describe('api token decider - revoke', () => {
  it('revokes an issued token', () => {
    given([issued]).when(revoke).then([revoked]);
  });
  it('changes nothing for a token already revoked', () => {
    given([issued, revoked]).when(revoke).then([]);
  });
  it('refuses a token that was never issued here', () => {
    given([]).when(revoke).thenRefused('IDENTITY.TOKEN_NOT_FOUND');
    given([issued]).when({ type: 'RevokeApiToken', data: { ...revokeData, tokenId: 'other123' } }).thenRefused('IDENTITY.TOKEN_NOT_FOUND');
  });
});
