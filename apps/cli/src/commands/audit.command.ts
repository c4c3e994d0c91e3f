import type { Command } from 'commander';
import type { CommandContext } from '../command.context.js';
import { UsageError } from '../cli.errors.js';
import { formatAuditEntries } from '../format/audit-entries.format.js';
import { parsePluginName } from '../plugin-ref.js';
import { isoTimeMs, spanMs } from '../time-span.js';

interface AuditLogOptions {
  readonly plugin?: string;
  readonly since?: string;
  readonly limit?: string;
  readonly after?: string;
}

// The gateway's page size when no --limit is given (HTTP API v1).
const DEFAULT_PAGE = 100;

/** `--since` takes an ISO 8601 time or a span back from now such as 30m, 24h or 7d. */
export function parseSince(text: string, now: Date): string {
  const span = spanMs(text);
  if (span !== undefined) return new Date(now.getTime() - span).toISOString();
  const time = isoTimeMs(text);
  if (time === undefined) {
    throw new UsageError(`--since "${text}" is not a time: give an ISO 8601 time such as 2026-01-31 or 2026-01-31T09:00:00Z, or a span such as 30m, 24h or 7d`);
  }
  return new Date(time).toISOString();
}

function parsePositiveInteger(text: string, option: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} "${text}" must be ${what}`);
  }
  return Number(text);
}

export function registerAuditCommands(program: Command, context: CommandContext): void {
  const audit = program.command('audit').description('read the tamper-evident audit log');

  audit
    .command('log')
    .description('list audit entries in sequence order')
    .option('--plugin <name>', 'only entries about this plugin (<publisher>/<plugin>)')
    .option('--since <time>', 'only entries from this time on: ISO 8601, or a span back from now such as 24h or 7d')
    .option('--limit <n>', `at most n entries (the API's default is ${DEFAULT_PAGE})`)
    .option('--after <sequence>', 'only entries after this sequence number, to page through the log')
    .action(async (options: AuditLogOptions) => {
      const plugin = options.plugin === undefined ? undefined : parsePluginName(options.plugin, '--plugin');
      const since = options.since === undefined ? undefined : parseSince(options.since, new Date());
      const limit = options.limit === undefined ? undefined : parsePositiveInteger(options.limit, '--limit', 'a whole number of entries, 1 or more');
      const after = options.after === undefined ? undefined : String(parsePositiveInteger(options.after, '--after', 'a sequence number, 1 or more'));
      const reply = await context.api().auditLog({
        ...(plugin ? { plugin } : {}),
        ...(since ? { since } : {}),
        ...(limit ? { limit } : {}),
        ...(after ? { after } : {}),
      });
      context.print(reply, () => (reply.entries.length ? formatAuditEntries(reply.entries, { withPlugin: true }) : 'no audit entries match\n'));
      const last = reply.entries.at(-1);
      if (!context.json && last && reply.entries.length >= (limit ?? DEFAULT_PAGE)) {
        context.io.stderr(`more entries may follow: add --after ${last.sequence} for the next page\n`);
      }
    });
}
