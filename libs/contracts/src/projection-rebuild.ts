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

/**
 * The aggregate of rebuilds of the projections, `forgeone.evt.projection.<rebuildId>`, written by the
 * audit-projector alone (EVENT_OWNERSHIP): who started a rebuild, and what came of it, are in the
 * audit log like every operator act.
 */
export const PROJECTION_AGGREGATE = 'projection';

export const PROJECTION_EVENT_TYPES = {
  rebuildStarted: 'io.forgeone.projection.rebuild_started.v1',
  rebuildCompleted: 'io.forgeone.projection.rebuild_completed.v1',
} as const;

const SchemaNameSchema = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/);

export const RebuildStartedSchema = z
  .object({
    rebuildId: RebuildIdSchema,
    /** The fresh schema the projections are built into. */
    schema: SchemaNameSchema,
    swapRequested: z.boolean(),
  })
  .strict();
export type RebuildStarted = z.infer<typeof RebuildStartedSchema>;

export const RebuildCompletedSchema = z
  .object({
    rebuildId: RebuildIdSchema,
    schema: SchemaNameSchema,
    /**
     * `equal` / `different`: compared, no swap asked; `swapped`: the rebuild is live; `swap_refused`:
     * asked but not done (`reason`); `failed`: the rebuild did not finish (`reason`).
     */
    outcome: z.enum(['equal', 'different', 'swapped', 'swap_refused', 'failed']),
    /** The stream sequence both sides were compared at, null when they were not compared. */
    comparedAt: z.number().int().nonnegative().nullable(),
    /** The tables that differed (at most 256 named). */
    differingTables: z.array(SchemaNameSchema).max(256),
    /** The name the old live schema is kept under after a swap. */
    previousSchema: SchemaNameSchema.nullable(),
    reason: z.string().max(1_000).nullable(),
  })
  .strict();
export type RebuildCompleted = z.infer<typeof RebuildCompletedSchema>;
