import type { Command } from 'commander';
import type { CommandContext } from '../command.context.js';
import { formatTable, formatTime } from '../format/table.js';

/** `forgeone siem status`: where each SIEM sink stands (docs/siem.md). */
export function registerSiemCommands(program: Command, context: CommandContext): void {
  const siem = program.command('siem').description('SIEM forwarding: where each sink stands');
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
}
