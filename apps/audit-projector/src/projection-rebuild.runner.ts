import { randomBytes, randomUUID } from 'node:crypto';
import {
  ForgeOneError,
  HEADERS,
  PROJECTION_AGGREGATE,
  PROJECTION_EVENT_TYPES,
  type Names,
  type RebuildComparison,
  type RebuildCompleted,
  type RebuildStarted,
  type RebuildStatus,
} from '@forgeone/contracts';
import type { EventAuthorship, EventStore } from '@forgeone/event-store';
import {
  applyEvent,
  checkpoint,
  compareProjectionSchemas,
  createProjectionSchema,
  currentProjectionSchema,
  dropProjectionSchema,
  inequalityReason,
  rebuildDataSource,
  recordForgedEvent,
  swapProjectionSchemas,
  type ProjectionComparison,
} from '@forgeone/persistence';
import type { Logger } from '@forgeone/telemetry';
import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource, EntityManager } from 'typeorm';

export interface ProjectionRebuildOptions {
  readonly live: DataSource;
  readonly databaseUrl: string;
  /** The live projector's name: the rebuilt schema's checkpoint row carries it, so it goes on after a swap. */
  readonly projector: string;
  readonly connection: NatsConnection;
  readonly names: Names;
  readonly authorship: EventAuthorship;
  /** Where the rebuild's start and outcome are recorded (aggregate `projection`, the projector's own). */
  readonly events: EventStore;
  readonly logger: Logger;
}

/** Who asked for a rebuild, as policy authenticated them: the recorded events' actor and tenant. */
export interface RebuildActor {
  readonly id: string;
  readonly tenant: string;
}

// Any 64-bit constant, the same in every projector of a database: one rebuild at a time.
const REBUILD_LOCK = 7_462_001_914;
// Rebuilds whose status is kept for polling.
const KEPT_RESULTS = 20;
// Times the comparison looks for a moment when the live projector stands still long enough.
const COMPARE_ATTEMPTS = 20;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Rebuilds every projection from stream sequence 1 into a fresh schema while the live projector keeps
 * projecting, compares the two at one stream sequence and, when asked and equal, swaps the rebuilt
 * schema in (libs/persistence, projection-schema). It runs in the audit-projector because that
 * process owns the projections, reads the stream with the same verification and writes with the same
 * `applyEvent`. Starting answers at once; the work goes on in the background and is polled by id.
 */
export class ProjectionRebuilds {
  private readonly results = new Map<string, Mutable<RebuildStatus>>();
  private running?: string;

  constructor(private readonly options: ProjectionRebuildOptions) {}

  /** Starts a rebuild; refused while one runs here or in another projector of the database. */
  async start(swap: boolean, actor: RebuildActor): Promise<RebuildStatus> {
    if (this.running) {
      throw new ForgeOneError('REBUILD.IN_PROGRESS', `rebuild ${this.running} is still running: follow it with \`forgeone admin rebuild --status ${this.running}\``, { rebuildId: this.running });
    }
    const lock = this.options.live.createQueryRunner();
    await lock.connect();
    const [{ locked }] = (await lock.query(`SELECT pg_try_advisory_lock($1) AS locked`, [REBUILD_LOCK])) as { locked: boolean }[];
    if (!locked) {
      await lock.release();
      throw new ForgeOneError('REBUILD.IN_PROGRESS', 'another projector of this database is running a rebuild; wait for it to finish');
    }
    const now = new Date();
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', 't').slice(0, 15).toLowerCase();
    const suffix = randomBytes(3).toString('hex');
    const rebuildId = `rb_${stamp}_${suffix}`;
    const status: Mutable<RebuildStatus> = {
      rebuildId,
      phase: 'replaying',
      swapRequested: swap,
      schema: `rebuild_${stamp}_${suffix}`,
      startedAt: now.toISOString(),
      finishedAt: null,
      progress: { sequence: 0, target: 0 },
      comparison: null,
      swap: null,
      schemaKept: true,
      error: null,
    };
    const release = async () => {
      await lock.query(`SELECT pg_advisory_unlock($1)`, [REBUILD_LOCK]).catch(() => undefined);
      await lock.release();
    };
    try {
      // Recorded before anything is built: a rebuild nobody can see in the audit log does not start.
      await this.record(rebuildId, PROJECTION_EVENT_TYPES.rebuildStarted, { rebuildId, schema: status.schema, swapRequested: swap } satisfies RebuildStarted, actor);
    } catch (error) {
      await release();
      throw error;
    }
    this.remember(status);
    this.running = rebuildId;
    void this.run(status, `previous_${stamp}_${suffix}`).then(async (phase) => {
      await this.record(rebuildId, PROJECTION_EVENT_TYPES.rebuildCompleted, completedData({ ...status, phase }), actor).catch((error: unknown) =>
        this.options.logger.error({ err: error, rebuildId }, 'the outcome of a rebuild could not be recorded in the event stream'),
      );
      this.running = undefined;
      await release();
      // Shown as ended only now, so whoever polls it may start the next one at once.
      status.finishedAt = new Date().toISOString();
      status.phase = phase;
    });
    return { ...status };
  }

  /** Where rebuild `rebuildId` stands. */
  status(rebuildId: string): RebuildStatus {
    const status = this.results.get(rebuildId);
    if (!status) {
      throw new ForgeOneError('REBUILD.NOT_FOUND', `no rebuild ${rebuildId} is known to this projector (results are kept until it restarts, the last ${KEPT_RESULTS})`, { rebuildId });
    }
    return { ...status, progress: { ...status.progress } };
  }

  private async record(rebuildId: string, type: string, data: RebuildStarted | RebuildCompleted, actor: RebuildActor): Promise<void> {
    // A record, not a decision: nothing else writes a rebuild's subject.
    await this.options.events.append(PROJECTION_AGGREGATE, rebuildId, [{ id: randomUUID(), type, data, time: new Date().toISOString(), actor: actor.id, tenant: actor.tenant }], {
      expectedSequence: 'any',
    });
  }

  private remember(status: Mutable<RebuildStatus>): void {
    this.results.set(status.rebuildId, status);
    for (const id of this.results.keys()) {
      if (this.results.size <= KEPT_RESULTS) break;
      if (id !== status.rebuildId) this.results.delete(id);
    }
  }

  /** Does the rebuild, keeping `status` current; answers the phase it ends in. */
  private async run(status: Mutable<RebuildStatus>, previous: string): Promise<'done' | 'failed'> {
    const { live, databaseUrl, projector, logger } = this.options;
    const log = logger.child({ rebuildId: status.rebuildId, schema: status.schema });
    let rebuilt: DataSource | undefined;
    try {
      const liveSchema = await currentProjectionSchema(live.manager);
      const migrations = await createProjectionSchema(live.manager, databaseUrl, status.schema, { applicationName: 'forgeone-rebuild' });
      log.info({ migrations: migrations.length, liveSchema }, 'rebuild schema created');
      rebuilt = await rebuildDataSource(databaseUrl, status.schema, { applicationName: 'forgeone-rebuild', poolSize: 2 }).initialize();

      status.progress = { sequence: 0, target: (await checkpoint(live, projector)).lastSequence };
      await this.replay(rebuilt.manager, 1, status.progress.target, (sequence) => (status.progress = { ...status.progress, sequence }));
      log.info({ sequence: status.progress.target }, 'stream replayed into the rebuild schema');

      status.phase = 'comparing';
      const comparison = await this.compareAtOneSequence(rebuilt, liveSchema, status.schema, (sequence) => (status.progress = { sequence, target: Math.max(sequence, status.progress.target) }));
      status.comparison = comparisonReply(comparison);
      log.info({ equal: comparison.equal, sequence: comparison.sequence }, 'rebuild compared with the live projections');

      if (status.swapRequested) {
        if (!comparison.equal) {
          status.swap = { swapped: false, previousSchema: null, recreatedViews: [], reason: `swap refused: ${inequalityReason(comparison)}` };
        } else {
          status.phase = 'swapping';
          await rebuilt.destroy();
          rebuilt = undefined;
          const outcome = await swapProjectionSchemas(live, {
            live: liveSchema,
            rebuilt: status.schema,
            previous,
            projector,
            catchUp: (manager, from, to) => this.replay(manager, from + 1, to, () => undefined),
          });
          status.comparison = comparisonReply(outcome.comparison);
          status.swap = outcome.swapped
            ? { swapped: true, previousSchema: outcome.previousSchema, recreatedViews: outcome.recreatedViews, reason: null }
            : { swapped: false, previousSchema: null, recreatedViews: [], reason: `swap refused: ${outcome.reason}` };
          log.warn({ swap: status.swap }, outcome.swapped ? 'the rebuilt projections are live now' : 'swap refused');
        }
      }
      if (comparison.equal && !status.swapRequested) {
        // Nothing to inspect and nothing to swap: a swap needs a rebuild of its own, caught up under the checkpoint lock.
        await rebuilt?.destroy();
        rebuilt = undefined;
        await dropProjectionSchema(live.manager, status.schema);
        status.schemaKept = false;
      }
      return 'done';
    } catch (error) {
      status.error = { code: error instanceof ForgeOneError ? error.code : 'SERVICE.INTERNAL', message: (error as Error).message };
      log.error({ err: error }, 'rebuild failed');
      return 'failed';
    } finally {
      if (rebuilt?.isInitialized) await rebuilt.destroy().catch(() => undefined);
    }
  }

  /**
   * Compares once both sides stand at the same stream sequence: the rebuild is caught up to the live
   * checkpoint, then one REPEATABLE READ snapshot of the live side is compared if the checkpoint
   * has not moved in between (the live projector keeps writing all along).
   */
  private async compareAtOneSequence(rebuilt: DataSource, live: string, schema: string, progress: (sequence: number) => void): Promise<ProjectionComparison> {
    const { projector } = this.options;
    for (let attempt = 1; attempt <= COMPARE_ATTEMPTS; attempt++) {
      const target = (await checkpoint(this.options.live, projector)).lastSequence;
      const at = (await checkpoint(rebuilt, projector)).lastSequence;
      if (at < target) await this.replay(rebuilt.manager, at + 1, target, progress);
      const comparison = await this.options.live.transaction('REPEATABLE READ', async (manager) => {
        const [row] = (await manager.query(`SELECT last_sequence FROM projection_checkpoint WHERE projector = $1`, [projector])) as { last_sequence: string }[];
        if (Number(row?.last_sequence ?? 0) !== target) return undefined;
        return compareProjectionSchemas(manager, live, schema, projector);
      });
      if (comparison) return comparison;
    }
    throw new ForgeOneError('SERVICE.UNAVAILABLE', `the live projector moved on during each of ${COMPARE_ATTEMPTS} comparisons; try again when the stream is quieter`);
  }

  /** Projects stream sequences `from`..`to` through `manager`, verified and applied exactly as the live projector does. */
  private async replay(manager: EntityManager, from: number, to: number, progress: (sequence: number) => void): Promise<void> {
    if (to < from) return;
    const { connection, names, authorship, projector } = this.options;
    const consumer = await jetstream(connection).consumers.get(names.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const msg of messages) {
        await this.project(manager, projector, msg, authorship);
        progress(msg.seq);
        if (msg.seq >= to) break;
      }
    } finally {
      await messages.close();
      await consumer.delete().catch(() => undefined);
    }
  }

  private async project(manager: EntityManager, projector: string, msg: JsMsg, authorship: EventAuthorship): Promise<void> {
    const opened = authorship.open(msg);
    if (!opened.ok) {
      const { refusal } = opened;
      const storedAt = new Date(Math.floor(Number(msg.info.timestampNanos) / 1e6)).toISOString();
      await recordForgedEvent(manager, projector, msg.seq, { reason: refusal.reason, message: refusal.message, subject: msg.subject, writer: refusal.writer, payload: msg.data, storedAt });
      return;
    }
    const writer = msg.headers?.has(HEADERS.eventWriter) ? msg.headers.get(HEADERS.eventWriter) : null;
    await applyEvent(manager, projector, msg.seq, opened.event, { origin: { writer, subject: msg.subject } });
  }
}

/** What the audit log keeps of a finished rebuild. */
function completedData(status: RebuildStatus): RebuildCompleted {
  const comparison = status.comparison;
  const outcome: RebuildCompleted['outcome'] =
    status.phase === 'failed'
      ? 'failed'
      : status.swap?.swapped
        ? 'swapped'
        : status.swap
          ? 'swap_refused'
          : comparison?.equal
            ? 'equal'
            : 'different';
  return {
    rebuildId: status.rebuildId,
    schema: status.schema,
    outcome,
    comparedAt: comparison ? comparison.sequence.live : null,
    differingTables: (comparison?.tables ?? []).filter((t) => !t.equal).map((t) => t.table).slice(0, 256),
    previousSchema: status.swap?.previousSchema ?? null,
    reason: (status.error?.message ?? status.swap?.reason ?? null)?.slice(0, 1_000) ?? null,
  };
}

function comparisonReply(comparison: ProjectionComparison): RebuildComparison {
  return {
    equal: comparison.equal,
    liveSchema: comparison.liveSchema,
    rebuiltSchema: comparison.rebuiltSchema,
    sequence: comparison.sequence,
    auditTip: comparison.auditTip,
    tables: comparison.tables.map((t) => ({ table: t.table, equal: t.equal, excludedColumns: t.excludedColumns, live: t.live, rebuilt: t.rebuilt, differences: t.differences })),
  };
}
