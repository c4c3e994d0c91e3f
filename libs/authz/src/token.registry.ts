import { IDENTITY_EVENT_TYPES, type CloudEvent, type Role, type TokenIssuedSchema, type TokenRevokedSchema } from '@forgeone/contracts';
import type { z } from 'zod';

/** The principal of the first administrator (`FORGEONE_BOOTSTRAP_TOKEN` or the token issued on first start). */
export const BOOTSTRAP_PRINCIPAL = 'bootstrap-admin';
/** Token aggregate id of the bootstrap token issued on first start; one per platform, ever. */
export const BOOTSTRAP_TOKEN_AGGREGATE_ID = 'bootstrap-admin';
/** The platform's own tenant: its services and its first administrator live there. */
export const PLATFORM_TENANT = 'default';

/** One API token as its events describe it (never the secret). */
export interface TokenRecord {
  readonly tokenId: string;
  readonly principal: string;
  readonly principalType: 'user' | 'service';
  readonly role: Role;
  readonly tenant: string;
  readonly secretHash: string;
  readonly issuedAt: string;
  readonly issuedBy: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly revokedReason?: string;
  readonly revokedBy?: string;
  /** Token aggregate id holding this token's events (its token id, or the bootstrap aggregate). */
  readonly aggregateId: string;
  /** Issued by the platform on first start: its holder is the platform administrator. */
  readonly bootstrap: boolean;
}

type TokenIssued = z.infer<typeof TokenIssuedSchema>;
type TokenRevoked = z.infer<typeof TokenRevokedSchema>;

/**
 * The tokens of a platform, folded from `token_issued` and `token_revoked` events. Applying an
 * event is idempotent per aggregate and stream sequence, so a live tail and a direct read may overlap.
 */
export class TokenRegistry {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly aggregates = new Map<string, number>();
  // Refused messages apply nothing but still sit on their subject: the next append must expect them.
  private readonly subjects = new Map<string, number>();

  /** Applies one stored event of the token aggregate `aggregateId`; false when already seen or not a token event. */
  apply(event: CloudEvent, aggregateId: string, sequence: number): boolean {
    if (sequence <= (this.aggregates.get(aggregateId) ?? 0)) return false;
    if (event.type === IDENTITY_EVENT_TYPES.tokenIssued) {
      const data = event.data as TokenIssued;
      this.tokens.set(data.tokenId, {
        tokenId: data.tokenId,
        principal: data.principal,
        principalType: data.principalType,
        role: data.role,
        tenant: data.tenant,
        secretHash: data.secretHash,
        issuedAt: event.time,
        issuedBy: data.issuedBy,
        ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}),
        aggregateId,
        bootstrap: aggregateId === BOOTSTRAP_TOKEN_AGGREGATE_ID,
      });
    } else if (event.type === IDENTITY_EVENT_TYPES.tokenRevoked) {
      const data = event.data as TokenRevoked;
      const token = this.tokens.get(data.tokenId);
      if (token && !token.revokedAt) this.tokens.set(data.tokenId, { ...token, revokedAt: event.time, revokedReason: data.reason, revokedBy: data.revokedBy });
    } else {
      return false;
    }
    this.aggregates.set(aggregateId, sequence);
    return true;
  }

  get(tokenId: string): TokenRecord | undefined {
    return this.tokens.get(tokenId);
  }

  /**
   * Stream sequence of the last message on the aggregate's subject, applied or refused (0 when
   * none): the expected sequence of the next append.
   */
  aggregateSequence(aggregateId: string): number {
    return Math.max(this.aggregates.get(aggregateId) ?? 0, this.subjects.get(aggregateId) ?? 0);
  }

  /** Notes a message on the aggregate's subject that was not applied (refused as forged or replayed). */
  noteSubjectSequence(aggregateId: string, sequence: number): void {
    if (sequence > (this.subjects.get(aggregateId) ?? 0)) this.subjects.set(aggregateId, sequence);
  }

  /** Whether the platform already issued its bootstrap token (an applied event, never a refused one). */
  get bootstrapIssued(): boolean {
    return this.aggregates.has(BOOTSTRAP_TOKEN_AGGREGATE_ID);
  }

  /** Tokens, oldest first, optionally of one tenant. */
  list(tenant?: string): TokenRecord[] {
    return [...this.tokens.values()].filter((t) => tenant === undefined || t.tenant === tenant).sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  }

  /** The principal's newest token that is neither revoked nor expired at `now`. */
  newestActiveFor(principal: string, now: Date): TokenRecord | undefined {
    return this.list()
      .filter((t) => t.principal === principal && isActive(t, now))
      .at(-1);
  }

  get size(): number {
    return this.tokens.size;
  }
}

/** Neither revoked nor expired at `now`. */
export function isActive(token: TokenRecord, now: Date): boolean {
  return !token.revokedAt && !(token.expiresAt && Date.parse(token.expiresAt) <= now.getTime());
}
