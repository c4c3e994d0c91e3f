import { z } from 'zod';

/**
 * `forgeone admin rebuild`: the audit-projector rebuilds every projection from stream sequence 1
 * into a fresh schema, compares it with the live one and, when asked and equal, swaps it in.
 * Starting answers at once with an id; the status command is polled until the rebuild ends.
 */
export const PROJECTION_REBUILD_VERBS = {
  /** `forgeone.cmd.audit-projector.rebuild`: body {@link RebuildStartRequest}, reply {@link RebuildStatus}. */
  start: 'rebuild',
  /** `forgeone.cmd.audit-projector.rebuild-status`: body {@link RebuildStatusRequest}, reply {@link RebuildStatus}. */
  status: 'rebuild-status',
} as const;

export const RebuildStartRequestSchema = z
  .object({
    /** Swap the rebuilt schema in when it equals the live one. */
    swap: z.boolean().default(false),
  })
  .strict();
export type RebuildStartRequest = z.input<typeof RebuildStartRequestSchema>;

export const RebuildIdSchema = z.string().regex(/^rb_[0-9]{8}t[0-9]{6}_[0-9a-f]{6}$/, 'must be a rebuild id as `forgeone admin rebuild` printed it (rb_<date>t<time>_<hex>)');

export const RebuildStatusRequestSchema = z.object({ rebuildId: RebuildIdSchema }).strict();
export type RebuildStatusRequest = z.input<typeof RebuildStatusRequestSchema>;

/** Where a rebuild is: replaying the stream, comparing, swapping, or ended (`done` or `failed`). */
export type RebuildPhase = 'replaying' | 'comparing' | 'swapping' | 'done' | 'failed';

export interface RebuildTableResult {
  readonly table: string;
  readonly equal: boolean;
  readonly excludedColumns: readonly string[];
  readonly live: { readonly rows: number; readonly digest: string } | null;
  readonly rebuilt: { readonly rows: number; readonly digest: string } | null;
  readonly differences: readonly string[];
}

export interface RebuildComparison {
  readonly equal: boolean;
  readonly liveSchema: string;
  readonly rebuiltSchema: string;
  readonly sequence: { readonly live: number; readonly rebuilt: number };
  readonly auditTip: {
    readonly live: { readonly sequence: number; readonly hash: string } | null;
    readonly rebuilt: { readonly sequence: number; readonly hash: string } | null;
  };
  readonly tables: readonly RebuildTableResult[];
}

/** The reply of both commands. */
export interface RebuildStatus {
  readonly rebuildId: string;
  readonly phase: RebuildPhase;
  readonly swapRequested: boolean;
  /** The schema being built (after a swap it carries the live name; this stays the name it was built under). */
  readonly schema: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Stream sequence replayed so far, and the one the replay aims at (the live projector's when it started). */
  readonly progress: { readonly sequence: number; readonly target: number };
  readonly comparison: RebuildComparison | null;
  /** Set once a swap was tried: whether it happened, the name the old live schema is kept under, or why not. */
  readonly swap: { readonly swapped: boolean; readonly previousSchema: string | null; readonly recreatedViews: readonly string[]; readonly reason: string | null } | null;
  /**
   * Whether the rebuilt schema is left in the database under `schema`: when it differs from the live one
   * (for inspection) or its swap was refused; an equal rebuild that was not swapped is dropped.
   */
  readonly schemaKept: boolean;
  /** Why the rebuild failed (phase `failed`). */
  readonly error: { readonly code: string; readonly message: string } | null;
}
