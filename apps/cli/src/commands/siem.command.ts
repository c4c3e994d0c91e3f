import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { SiemSinkRequest } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { formatTable, formatTime } from '../format/table.js';

/** `forgeone siem status` and `siem sink add|list|remove|test`: SIEM forwarding (docs/siem.md). */
export function registerSiemCommands(program: Command, context: CommandContext): void {
  const siem = program.command('siem').description("SIEM forwarding: where each sink stands, and your tenant's own sinks");
  siem
    .command('status')
    .description("each SIEM sink's last delivered sequence, lag in events and seconds, and last error (needs read-audit)")
    .action(async () => {
      const reply = await context.api().siemStatus();
      context.print(reply, () =>
        reply.sinks.length
          ? formatTable(
              ['SINK', 'KIND', 'TENANT', 'DELIVERED SEQ', 'DELIVERED AT', 'LAG EVENTS', 'LAG SECONDS', 'LAST ERROR'],
              reply.sinks.map((s) => [s.sink, s.kind, s.tenant ?? '(platform)', s.lastDeliveredSequence, formatTime(s.lastDeliveredAt), s.lagEvents, s.lagSeconds, s.lastError ?? '-']),
            )
          : 'no SIEM sink: set FORGEONE_SIEM_SYSLOG_URL or FORGEONE_SIEM_HEC_URL where the platform runs (docs/siem.md)\n',
      );
    });
  registerSinkCommands(siem, context);
}

/** Where the HEC token comes from: a file or an environment variable, never the command line (other users see it in ps). */
const TOKEN_VARIABLE = 'FORGEONE_SIEM_SINK_TOKEN';

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${what} ${file} cannot be read: ${(error as Error).message}`);
  }
}

function registerSinkCommands(siem: Command, context: CommandContext): void {
  const sink = siem.command('sink').description("your tenant's own SIEM sinks: they receive only your tenant's events");
  sink
    .command('add <name> <url>')
    .description(
      `add a sink: tcp://host:port or tls://host:port (syslog, CEF in RFC 5424) or https://host/path (Splunk HEC, OCSF); loopback, private, link-local and metadata addresses are refused (needs configure-siem). The HEC token is read from --token-file or ${TOKEN_VARIABLE}, stored sealed and never shown`,
    )
    .option('--ca-file <pem>', "the CA the sink's certificate must chain to (tls:// and https://)")
    .option('--token-file <file>', `the HEC token (else ${TOKEN_VARIABLE})`)
    .option('--min-severity <severity>', 'the lowest severity sent: low, medium or high')
    .option('--types <types>', 'only these event types (comma-separated; a prefix may end in *)')
    .action(async (name: string, url: string, options: { caFile?: string; tokenFile?: string; minSeverity?: string; types?: string }) => {
      const kind = url.startsWith('https:') ? 'hec' : 'syslog';
      const token = kind === 'hec' ? (options.tokenFile ? readText(options.tokenFile, '--token-file').trim() : process.env[TOKEN_VARIABLE]?.trim()) : undefined;
      if (kind === 'hec' && !token) throw new UsageError(`a HEC sink needs its token: give --token-file FILE or set ${TOKEN_VARIABLE}`);
      if (kind === 'syslog' && options.tokenFile) throw new UsageError('--token-file is for HEC sinks (https://) only');
      const request = {
        name,
        kind,
        url,
        ...(options.caFile ? { ca: readText(options.caFile, '--ca-file') } : {}),
        ...(token ? { token } : {}),
        ...(options.minSeverity ? { minSeverity: options.minSeverity } : {}),
        ...(options.types ? { types: options.types.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
      } as SiemSinkRequest;
      const reply = await context.api().addSiemSink(request);
      context.print(reply, () => `added SIEM sink ${reply.name} (seq ${reply.sequence}); it receives your tenant's events from now on. Try it: forgeone siem sink test ${reply.name}\n`);
    });
  sink
    .command('list')
    .description("your tenant's sinks; a HEC token shows only as set (needs read-audit)")
    .action(async () => {
      const reply = await context.api().listSiemSinks();
      context.print(reply, () =>
        reply.sinks.length
          ? formatTable(
              ['NAME', 'KIND', 'URL', 'TOKEN', 'MIN SEVERITY', 'TYPES', 'ADDED BY', 'ADDED AT'],
              reply.sinks.map((s) => [s.name, s.kind, s.url, s.tokenSet ? '(set)' : '-', s.minSeverity ?? '-', s.types.join(',') || '(all)', s.addedBy ?? '', formatTime(s.addedAt)]),
            )
          : 'no SIEM sink in your tenant: forgeone siem sink add NAME tls://siem.example.com:6514 --ca-file ca.pem\n',
      );
    });
  sink
    .command('remove <name>')
    .description('remove a sink; delivery to it stops (needs configure-siem)')
    .action(async (name: string) => {
      const reply = await context.api().removeSiemSink(name);
      context.print(reply, () => `removed SIEM sink ${reply.name} (seq ${reply.sequence})\n`);
    });
  sink
    .command('test <name>')
    .description('send one test message through a sink and say whether it was delivered (needs configure-siem)')
    .action(async (name: string) => {
      const reply = await context.api().testSiemSink(name);
      context.print(reply, () => `delivered a test message to ${reply.name} in ${reply.ms} ms (event id ${reply.eventId})\n`);
    });
}
