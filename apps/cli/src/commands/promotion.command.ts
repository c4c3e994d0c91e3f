import { ApprovalNotesSchema } from '@forgeone/contracts';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, shortDigest } from '../format/table.js';
import { parseEnvironment, parsePluginRef } from '../plugin-ref.js';

const REF = ['<ref>', 'plugin and version as <publisher>/<plugin>@<version>, e.g. acme/pii-redactor@1.4.2'] as const;

function parseNotes(text: string | undefined, option: string): string | undefined {
  if (text === undefined) return undefined;
  const parsed = ApprovalNotesSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`${option} ${parsed.error.issues[0]?.message ?? 'is not valid'}`);
  return parsed.data;
}

/** `plugin approve|reject|promote`: a gated environment takes a version by promotion, once approved by someone else. */
export function registerPromotionCommands(plugin: Command, context: CommandContext): void {
  plugin
    .command('approve')
    .description('approve a version for a gated environment; its publisher may not, and whoever promotes it does not count')
    .argument(...REF)
    .requiredOption('--env <env>', 'the gated environment, e.g. production')
    .option('--notes <text>', 'what was checked, for the audit log')
    .option('--accept-regressions', 'accept the operational regressions flagged on the latest test run in the source environment (recorded)')
    .action(async (ref: string, options: { env: string; notes?: string; acceptRegressions?: boolean }) => {
      const { name, version } = parsePluginRef(ref);
      const environment = parseEnvironment(options.env);
      const notes = parseNotes(options.notes, '--notes');
      const reply = await context.api().approvePlugin(environment, name, version, {
        ...(notes !== undefined ? { notes } : {}),
        ...(options.acceptRegressions ? { acceptRegressions: true } : {}),
      });
      context.print(reply, () =>
        reply.outcome === 'unchanged'
          ? `your approval of ${name}@${version} for ${environment} already stands\n`
          : `approved ${name}@${version} for ${environment} (seq ${cleanCell(reply.sequence)})\n`,
      );
    });

  plugin
    .command('reject')
    .description('reject a version for a gated environment, with notes; while the rejection stands it is not promoted there')
    .argument(...REF)
    .requiredOption('--env <env>', 'the gated environment, e.g. production')
    .requiredOption('--notes <text>', 'why, for the audit log')
    .action(async (ref: string, options: { env: string; notes: string }) => {
      const { name, version } = parsePluginRef(ref);
      const environment = parseEnvironment(options.env);
      const notes = parseNotes(options.notes, '--notes')!;
      const reply = await context.api().rejectPlugin(environment, name, version, notes);
      context.print(reply, () =>
        reply.outcome === 'unchanged'
          ? `your rejection of ${name}@${version} for ${environment} already stands\n`
          : `rejected ${name}@${version} for ${environment} (seq ${cleanCell(reply.sequence)})\n`,
      );
    });

  plugin
    .command('promote')
    .description('install or upgrade a version into a gated environment from its source: every gate must hold (tested there, soaked, signed, approved); a refusal lists each unmet gate')
    .argument(...REF)
    .requiredOption('--from <env>', 'the environment it runs in now, e.g. staging')
    .requiredOption('--to <env>', 'the gated environment, e.g. production')
    .option('--dry-run', 'evaluate every gate and change nothing')
    .action(async (ref: string, options: { from: string; to: string; dryRun?: boolean }) => {
      const { name, version } = parsePluginRef(ref);
      const from = parseEnvironment(options.from);
      const to = parseEnvironment(options.to);
      if (from === to) throw new UsageError(`--from and --to are both ${from}: a promotion moves a version from one environment to another`);
      const reply = await context.api().promotePlugin(to, { name, version, from, ...(options.dryRun ? { dryRun: true } : {}) });
      const approvals = reply.promotion.approvals.map((a) => a.principal).join(', ') || 'none needed';
      // Configuration changes waiting in the target are not part of the promotion: say so, so nobody assumes they went along.
      const pending = reply.pendingConfigChanges.length
        ? `configuration changes of ${name} waiting for approval in ${to} (not applied by this promotion):\n` +
          reply.pendingConfigChanges
            .map((c) => `  - ${c.changeId}: ${c.change} ${c.secret ? 'secret ' : ''}${c.key}${c.change === 'set' && !c.secret ? `=${cleanCell(c.value)}` : ''} (proposed by ${cleanCell(c.proposedBy)})\n`)
            .join('') +
          `  approve with forgeone plugin config approve ${name} --env ${to} --change ID\n`
        : '';
      context.print(reply, () =>
        (reply.dryRun
          ? `every gate holds: ${name}@${version} can be promoted from ${from} to ${to} (test run ${reply.promotion.testRunId}, approvals: ${approvals}); nothing was changed\n`
          : `promoted ${name}@${version} from ${from} to ${to} ${shortDigest(reply.digest)} (test run ${reply.promotion.testRunId}, approvals: ${approvals}; seq ${cleanCell(reply.sequence)})\n`) + pending,
      );
    });
}
