import type { Command } from 'commander';
import type { ReviewList, ReviewNoticeReceipt, ReviewStatusReply } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { parsePluginName } from '../plugin-ref.js';

const OUTCOMES = ['approved', 'changes-required'] as const;
const SEVERITIES = ['minor', 'major'] as const;

/** Text of --notes or --summary: 1 to 2000 characters once trimmed. */
function requiredText(option: string, text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new UsageError(`${option} must not be empty; it is kept in the audit log`);
  if (trimmed.length > 2000) throw new UsageError(`${option} is ${trimmed.length} characters; say it in at most 2000`);
  return trimmed;
}

interface ScopeOptions {
  plugins?: string;
  all?: boolean;
}

/** The plugins an incident or regulation change names: --plugins a,b or --all (or neither). */
export function scopeOf(options: ScopeOptions, verb: string): { plugins?: string[]; all?: boolean } {
  if (options.all && options.plugins !== undefined) throw new UsageError('--plugins and --all contradict each other; give one');
  if (options.all) return { all: true };
  if (options.plugins === undefined) return {};
  const plugins = options.plugins.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (plugins.length === 0) throw new UsageError('--plugins names no plugin: give a comma-separated list such as acme/greeter,acme/pii-redactor');
  return { plugins: plugins.map((p) => parsePluginName(p, verb)) };
}

function renderNotice(reply: ReviewNoticeReceipt): string {
  const scope = reply.all ? 'all plugins' : reply.plugins.length ? reply.plugins.join(', ') : 'no plugin';
  const what = reply.kind === 'incident' ? `${reply.severity ?? ''} incident` : 'regulation change';
  const effect = reply.forcesReview ? `${scope}: overdue for review now` : `${scope}: no review forced${reply.kind === 'incident' && reply.severity === 'minor' ? ' (a minor incident is recorded only)' : ''}`;
  return `recorded ${what} ${reply.id} naming ${effect}\n`;
}

function renderStatuses(rows: ReviewList['plugins']): string {
  return formatTable(
    ['PLUGIN', 'ENVIRONMENT', 'VERSION', 'STATUS', 'DUE', 'OVERDUE', 'LAST REVIEW', 'REASONS'],
    rows.map((r) => [
      r.name,
      r.environment,
      r.version,
      r.status,
      formatTime(r.dueAt),
      formatTime(r.overdueAt),
      r.lastReview ? `${r.lastReview.outcome} by ${r.lastReview.by} ${formatTime(r.lastReview.at)}` : 'never',
      r.reasons.join('; '),
    ]),
  );
}

/** The review lines `plugin show` prints under a plugin. */
export function renderReviewStatus(reply: ReviewStatusReply | null): string {
  if (!reply) return '';
  const last = reply.lastReview ? `${reply.lastReview.outcome} by ${cleanCell(reply.lastReview.by)} ${formatTime(reply.lastReview.at)}` : 'never reviewed';
  const lines = [`review: ${last}`];
  if (reply.environments.length === 0) lines.push('  not installed where reviews apply');
  for (const e of reply.environments) {
    lines.push(`  ${e.environment}: ${e.status.toUpperCase()}, due ${formatTime(e.dueAt)}, overdue ${formatTime(e.overdueAt)}`);
    for (const reason of e.reasons) lines.push(`    - ${cleanCell(reason)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `plugin review`, under the plugin command. */
export function registerPluginReviewCommand(plugin: Command, context: CommandContext): void {
  plugin
    .command('review')
    .description('record a review of a plugin: approved clears its review status, changes-required keeps it due')
    .argument('<name>', 'the plugin, <publisher>/<plugin>')
    .requiredOption('--outcome <outcome>', 'approved or changes-required')
    .requiredOption('--notes <text>', 'what was reviewed and found (kept in the audit log, at most 2000 characters)')
    .action(async (text: string, options: { outcome: string; notes: string }) => {
      const name = parsePluginName(text, 'plugin review');
      const outcome = OUTCOMES.find((o) => o === options.outcome);
      if (!outcome) throw new UsageError(`--outcome "${options.outcome}" is not a review outcome: use approved or changes-required`);
      const reply = await context.api().recordReview(name, outcome, requiredText('--notes', options.notes));
      context.print(reply, () => `recorded review of ${reply.name}: ${reply.outcome} (sequence ${reply.sequence})\n`);
    });
}

export function registerReviewCommands(program: Command, context: CommandContext): void {
  const review = program.command('review').description('plugins due or overdue for review');
  review
    .command('list')
    .description('list the plugins due or overdue for review, per environment, with reasons and dates')
    .option('--overdue', 'only the overdue ones')
    .action(async (options: { overdue?: boolean }) => {
      const reply = await context.api().listReviews(options.overdue === true);
      context.print(reply, () => (reply.plugins.length ? renderStatuses(reply.plugins) : `no plugin is ${options.overdue ? 'overdue' : 'due'} for review\n`));
    });

  const incident = program.command('incident').description('incidents: a major one makes the plugins it names due for review at once');
  incident
    .command('record')
    .description('record an incident; a major one naming plugins (or --all) makes them overdue for review, a minor one is recorded only')
    .requiredOption('--severity <severity>', 'minor or major')
    .requiredOption('--summary <text>', 'what happened (at most 2000 characters)')
    .option('--plugins <names>', 'the plugins concerned, comma-separated')
    .option('--all', 'every installed plugin of the tenant')
    .action(async (options: ScopeOptions & { severity: string; summary: string }) => {
      const severity = SEVERITIES.find((s) => s === options.severity);
      if (!severity) throw new UsageError(`--severity "${options.severity}" is not a severity: use minor or major`);
      const reply = await context.api().recordIncident({ severity, summary: requiredText('--summary', options.summary), ...scopeOf(options, 'incident record') });
      context.print(reply, () => renderNotice(reply));
    });

  const regulation = program.command('regulation').description('regulation changes: the plugins they name are due for review at once');
  regulation
    .command('record')
    .description('record a regulation change; the plugins it names (or --all) are overdue for review')
    .requiredOption('--summary <text>', 'what changed (at most 2000 characters)')
    .option('--plugins <names>', 'the plugins concerned, comma-separated')
    .option('--all', 'every installed plugin of the tenant')
    .action(async (options: ScopeOptions & { summary: string }) => {
      const reply = await context.api().recordRegulation({ summary: requiredText('--summary', options.summary), ...scopeOf(options, 'regulation record') });
      context.print(reply, () => renderNotice(reply));
    });
}
