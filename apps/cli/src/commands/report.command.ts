import { isReportName, REPORT_NAMES, reportRange, ReportBoundSchema } from '@forgeone/contracts';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { formatTable } from '../format/table.js';

interface ReportOptions {
  readonly from?: string;
  readonly to?: string;
  readonly csv?: boolean;
}

/** Checks the name and the range before anything is sent: a wrong name lists the right ones. */
export function parseReportArguments(name: string, options: ReportOptions): { name: (typeof REPORT_NAMES)[number]; from?: string; to?: string } {
  if (!isReportName(name)) throw new UsageError(`there is no report "${name}"; the reports are: ${REPORT_NAMES.join(', ')}`);
  for (const [option, value] of [['--from', options.from], ['--to', options.to]] as const) {
    if (value !== undefined && !ReportBoundSchema.safeParse(value).success) {
      throw new UsageError(`${option} "${value}" is not a date: give a day such as 2026-12-01 or an ISO 8601 time such as 2026-12-01T09:00:00Z`);
    }
  }
  try {
    reportRange(options.from, options.to);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { name, ...(options.from !== undefined ? { from: options.from } : {}), ...(options.to !== undefined ? { to: options.to } : {}) };
}

export function registerReportCommand(program: Command, context: CommandContext): void {
  program
    .command('call-recording')
    .description("record your tenant's plugin calls one event each (per-call) or in window summaries (windows), for the tenant or one environment; needs configure-recording")
    .argument('<mode>', 'per-call or windows')
    .option('--env <environment>', 'only this environment (default: the tenant default)')
    .action(async (mode: string, options: { env?: string }) => {
      if (mode !== 'per-call' && mode !== 'windows') throw new UsageError(`mode "${mode}" is not one of per-call, windows`);
      const reply = await context.api().setCallRecording({ mode, ...(options.env ? { environment: options.env } : {}) });
      const where = reply.environment === null ? `tenant ${reply.tenant}` : `${reply.environment} of tenant ${reply.tenant}`;
      context.print(reply, () => (reply.changed ? `calls of ${where}: ${reply.before} → ${reply.mode}\n` : `calls of ${where} were already recorded ${reply.mode}; nothing changed\n`));
    });

  program
    .command('report')
    .description(`a compliance report of your tenant: ${REPORT_NAMES.join(', ')}`)
    .argument('<name>', `the report: ${REPORT_NAMES.join(', ')}`)
    .option('--from <date>', 'first day (YYYY-MM-DD) or time (ISO 8601) included')
    .option('--to <date>', 'last day (YYYY-MM-DD, included whole) or time included')
    .option('--csv', 'print the rows as CSV with a header line (RFC 4180)')
    .action(async (rawName: string, options: ReportOptions) => {
      const { name, from, to } = parseReportArguments(rawName, options);
      if (options.csv && context.json) throw new UsageError('give --json or --csv, not both');
      const reply = await context.api().report(name, { ...(from ? { from } : {}), ...(to ? { to } : {}) });
      if (options.csv) {
        context.io.stdout(stringify([reply.columns, ...reply.rows.map((row) => reply.columns.map((c) => row[c] ?? ''))]));
      } else {
        context.print(reply, () => (reply.rows.length ? formatTable(reply.columns, reply.rows.map((row) => reply.columns.map((c) => row[c]))) : `no rows in report ${name}\n`));
      }
      if (reply.truncated) context.io.stderr('more rows matched than were answered: narrow the range with --from and --to\n');
    });
}
