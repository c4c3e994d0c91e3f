import { setTimeout as sleep } from 'node:timers/promises';
import { ForgeOneError, names as namesFor, PROJECTION_REBUILD_VERBS, RebuildIdSchema, type RebuildStatus } from '@forgeone/contracts';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable } from '../format/table.js';

interface RebuildOptions {
  readonly swap?: boolean;
  readonly status?: string;
  readonly pollMs?: string;
}

// A status request that times out (the projector busy with a swap's locks) is asked again this many times.
const STATUS_RETRIES = 5;

/**
 * `forgeone admin rebuild [--swap]`: asks the audit-projector on the bus to rebuild every projection
 * into a fresh schema, then polls its status (each request is short, so no single NATS timeout
 * bounds the rebuild) until it ends, and prints the comparison per table and the swap's outcome.
 * Exits 1 when the rebuild differs from the live projections, a swap was refused, or it failed.
 */
export function registerAdminRebuildCommand(admin: Command, context: CommandContext): void {
  admin
    .command('rebuild')
    .description(
      'rebuild every projection from stream sequence 1 into a fresh PostgreSQL schema while the live projector keeps working, compare it ' +
        'table by table with the live one and, with --swap and when equal, make it the live schema (platform administrators only). ' +
        'Talks to the audit-projector on NATS_URL (namespace FORGEONE_NAMESPACE) with the token of FORGEONE_TOKEN or the profile',
    )
    .option('--swap', 'when the rebuilt projections equal the live ones, swap them in; the old schema is kept under the name printed')
    .option('--status <rebuildId>', 'follow a rebuild already started (its id was printed when it started)')
    .option('--poll-ms <ms>', 'how often to ask for progress (default 500)')
    .action(async (options: RebuildOptions) => {
      if (options.status !== undefined && options.swap) throw new UsageError('--status follows a rebuild already started; --swap only applies when starting one');
      if (options.status !== undefined && !RebuildIdSchema.safeParse(options.status).success) {
        throw new UsageError(`--status "${options.status}" is not a rebuild id: give the id \`forgeone admin rebuild\` printed (rb_<date>t<time>_<hex>)`);
      }
      const pollMs = options.pollMs === undefined ? 500 : Number(options.pollMs);
      if (!Number.isInteger(pollMs) || pollMs < 50 || pollMs > 60_000) throw new UsageError(`--poll-ms must be a whole number of milliseconds from 50 to 60000, got "${options.pollMs}"`);
      const natsUrl = context.io.env.NATS_URL?.trim();
      if (!natsUrl) {
        throw new UsageError('NATS_URL is not set: give the NATS of the platform, with a user allowed to send forgeone.cmd.audit-projector requests (the operator, or an automation client)');
      }
      let names;
      try {
        names = namesFor(context.io.env.FORGEONE_NAMESPACE ?? '');
      } catch (error) {
        throw new UsageError(`FORGEONE_NAMESPACE: ${(error as Error).message}`);
      }
      const { token } = await context.config();
      const { BusClient, connectNats } = await import('@forgeone/bus');
      const nc = await connectNats(natsUrl, 'forgeone-cli', { reconnect: false, timeout: 5_000 });
      const credential = token ? `Bearer ${token}` : undefined;
      const bus = new BusClient(nc, names);
      const ask = (verb: string, body: unknown) => bus.request<RebuildStatus>('audit-projector', verb, body, { ...(credential ? { credential } : {}), timeoutMs: 10_000 });
      const progress = context.progress('starting the rebuild');
      try {
        let status = options.status
          ? await ask(PROJECTION_REBUILD_VERBS.status, { rebuildId: options.status })
          : await ask(PROJECTION_REBUILD_VERBS.start, { swap: options.swap === true });
        let failures = 0;
        while (status.phase !== 'done' && status.phase !== 'failed') {
          progress.update(`${status.rebuildId}: ${status.phase} (stream sequence ${status.progress.sequence} of ${status.progress.target}) into ${status.schema}`);
          await sleep(pollMs);
          try {
            status = await ask(PROJECTION_REBUILD_VERBS.status, { rebuildId: status.rebuildId });
            failures = 0;
          } catch (error) {
            if (!(error instanceof ForgeOneError && error.code === 'SERVICE.TIMEOUT') || ++failures > STATUS_RETRIES) throw error;
          }
        }
        progress.stop();
        if (status.phase === 'failed') {
          throw new ForgeOneError((status.error?.code ?? 'SERVICE.INTERNAL') as never, `rebuild ${status.rebuildId} failed: ${status.error?.message ?? 'no reason given'}; schema ${status.schema} may be left to drop`, {
            rebuildId: status.rebuildId,
            schema: status.schema,
          });
        }
        const equal = status.comparison?.equal === true;
        if (!equal || (status.swapRequested && status.swap?.swapped !== true)) context.setExitCode(1);
        context.print(status, () => renderRebuild(status));
      } finally {
        progress.stop();
        await nc.close();
      }
    });
}

/** The comparison per table, then what became of the schemas. */
export function renderRebuild(status: RebuildStatus): string {
  const comparison = status.comparison;
  const lines: string[] = [];
  if (comparison) {
    lines.push(
      `rebuild ${status.rebuildId}: ${comparison.rebuiltSchema} compared with ${comparison.liveSchema} at stream sequence ${comparison.sequence.live}` +
        (comparison.sequence.rebuilt === comparison.sequence.live ? '' : ` (rebuilt at ${comparison.sequence.rebuilt})`),
      '',
    );
    lines.push(
      formatTable(
        ['TABLE', 'LIVE ROWS', 'REBUILT ROWS', 'RESULT', 'NOT COMPARED'],
        comparison.tables.map((t) => [cleanCell(t.table), t.live?.rows ?? '-', t.rebuilt?.rows ?? '-', t.equal ? 'equal' : 'DIFFERENT', t.excludedColumns.join(', ')]),
      ).trimEnd(),
    );
    for (const table of comparison.tables.filter((t) => t.differences.length > 0)) {
      lines.push('', `${table.table}:`, ...table.differences.map((d) => `  - ${cleanCell(d)}`));
    }
    const tip = (t: { sequence: number; hash: string } | null) => (t ? `${t.sequence} ${t.hash.slice(0, 16)}` : 'none');
    lines.push('', `audit chain tip: live ${tip(comparison.auditTip.live)}, rebuilt ${tip(comparison.auditTip.rebuilt)}`);
    lines.push(comparison.equal ? 'the rebuilt projections equal the live ones' : 'the rebuilt projections DIFFER from the live ones');
  }
  if (status.swap?.swapped) {
    lines.push(`swapped: ${status.schema} is live now${status.swap.recreatedViews.length ? `; views re-pointed: ${status.swap.recreatedViews.join(', ')}` : ''}`);
    lines.push(`the previous live schema is kept as ${status.swap.previousSchema}; drop it when no longer needed (DROP SCHEMA ${status.swap.previousSchema} CASCADE)`);
  } else {
    if (status.swap) lines.push(status.swap.reason ?? 'swap refused');
    lines.push(
      status.schemaKept
        ? `the rebuilt schema is kept as ${status.schema} for inspection; drop it when done (DROP SCHEMA ${status.schema} CASCADE)`
        : `the rebuilt schema ${status.schema} was dropped (run with --swap to make a rebuild live)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
