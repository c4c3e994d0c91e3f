import { EnvironmentSchema } from '@forgeone/contracts';
import type { Command } from 'commander';
import type { EnvironmentChange, EnvironmentChangeReply, EnvironmentInfo } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { spanMs } from '../time-span.js';

/** An environment name given as an argument or option; `what` names it in the message. */
export function parseEnvironmentName(text: string, what: string): string {
  if (EnvironmentSchema.safeParse(text).success) return text;
  throw new UsageError(`${what} "${text}" is not an environment name: use lowercase letters, digits and "-", e.g. staging or production`);
}

/** Seconds of a soak time such as 0, 90s, 30m, 24h, 7d or 2w. */
export function parseSoak(text: string): number {
  if (text.trim() === '0') return 0;
  const ms = spanMs(text);
  if (ms === undefined) throw new UsageError(`--soak "${text}" is not a duration: give 0 or a number with a unit, e.g. 90s, 30m, 24h, 7d or 2w`);
  return ms / 1000;
}

function parseCount(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${option} "${text}" must be a whole number from ${min} to ${max}`);
  return value;
}

interface SetOptions {
  mode?: string;
  threshold?: string;
  gatedFrom?: string;
  ungated?: boolean;
  approvals?: string;
  soak?: string;
}

/** The change `env set` sends, from its options; every problem is a usage error naming the option. */
export function environmentChangeOf(environment: string, options: SetOptions): EnvironmentChange {
  const change: { -readonly [K in keyof EnvironmentChange]: EnvironmentChange[K] } = {};
  if (options.mode !== undefined) {
    if (options.mode !== 'strict' && options.mode !== 'audit') throw new UsageError(`--mode "${options.mode}" is not a signature mode: use strict or audit`);
    change.mode = options.mode;
  }
  if (options.threshold !== undefined) change.threshold = parseCount('--threshold', options.threshold, 1, 16);
  if (options.gatedFrom !== undefined && options.ungated) throw new UsageError('--gated-from and --ungated contradict each other; give one');
  if (options.gatedFrom !== undefined) {
    const from = parseEnvironmentName(options.gatedFrom, '--gated-from');
    if (from === environment) throw new UsageError(`--gated-from ${from}: an environment cannot be promoted from itself; name another one`);
    change.gated = true;
    change.promotedFrom = from;
  }
  if (options.ungated) change.gated = false;
  if (options.approvals !== undefined) change.approvals = parseCount('--approvals', options.approvals, 0, 16);
  if (options.soak !== undefined) change.soakSeconds = parseSoak(options.soak);
  if (Object.keys(change).length === 0) throw new UsageError('env set changes nothing: give --mode, --threshold, --gated-from or --ungated, --approvals or --soak');
  return change;
}

function soakText(seconds: number): string {
  if (seconds === 0) return '0';
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3_600], ['m', 60]] as const) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

function gateText(settings: EnvironmentInfo['settings']): string {
  return settings.gated ? `gated from ${settings.promotedFrom ?? '?'}` : 'not gated';
}

function renderEnvironment(env: EnvironmentInfo): string {
  const s = env.settings;
  const caps = Object.entries(s.limitCaps).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const lines = [
    `${cleanCell(env.environment)}${env.configured ? '' : ' (defaults)'}`,
    `  signatures  ${s.mode}, threshold ${s.threshold}`,
    `  promotion   ${gateText(s)}, ${s.approvals} approval(s), soak ${soakText(s.soakSeconds)}`,
    `  limit caps  ${caps}`,
  ];
  if (env.changedBy) lines.push(`  changed     ${formatTime(env.changedAt)} by ${cleanCell(env.changedBy)}`);
  if (env.pending) {
    lines.push(
      `  PENDING     ${env.pending.weakened.join(', ')} weakened by ${cleanCell(env.pending.proposedBy)} ${formatTime(env.pending.proposedAt)}: waits for another administrator (forgeone env confirm ${env.environment})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderChange(reply: EnvironmentChangeReply): string {
  const name = reply.environment.environment;
  switch (reply.outcome) {
    case 'proposed':
      return `proposed: weakening ${name} (${reply.environment.pending?.weakened.join(', ') ?? ''}) waits for a second administrator: forgeone env confirm ${name}\n${renderEnvironment(reply.environment)}`;
    case 'confirmed':
      return `confirmed: the weakening of ${name} applies now\n${renderEnvironment(reply.environment)}`;
    case 'unchanged':
      return `${name} already has these settings\n`;
    default:
      return `changed ${name}\n${renderEnvironment(reply.environment)}`;
  }
}

export function registerEnvCommands(program: Command, context: CommandContext): void {
  const env = program.command('env').description("show and change your tenant's environments: signature mode and threshold, promotion gate, approvals, soak time");

  env
    .command('list')
    .description('list the environments with their settings')
    .action(async () => {
      const reply = await context.api().listEnvironments();
      context.print(reply, () =>
        formatTable(
          ['ENVIRONMENT', 'MODE', 'THRESHOLD', 'PROMOTION', 'APPROVALS', 'SOAK', 'PENDING'],
          reply.environments.map((e) => [
            e.environment + (e.configured ? '' : ' (defaults)'),
            e.settings.mode,
            e.settings.threshold,
            gateText(e.settings),
            e.settings.approvals,
            soakText(e.settings.soakSeconds),
            e.pending ? `${e.pending.weakened.join(', ')} by ${e.pending.proposedBy}` : '',
          ]),
        ),
      );
    });

  env
    .command('show')
    .description('show one environment')
    .argument('<name>', 'the environment, e.g. production')
    .action(async (name: string) => {
      const reply = await context.api().showEnvironment(parseEnvironmentName(name, 'environment'));
      context.print(reply, () => renderEnvironment(reply));
    });

  env
    .command('set')
    .description('change an environment; weakening a gated one (audit mode, a lower threshold, ungating, fewer approvals, a shorter soak) waits for a second administrator')
    .argument('<name>', 'the environment, e.g. production')
    .option('--mode <mode>', 'signature mode: strict (refuse what does not verify) or audit (accept it, flagged)')
    .option('--threshold <n>', 'distinct trusted signatures required (1 to 16)')
    .option('--gated-from <env>', 'gate the environment: versions will come by promotion from this environment')
    .option('--ungated', 'remove the promotion gate')
    .option('--approvals <n>', 'approvals a promotion needs (0 to 16)')
    .option('--soak <duration>', 'how long a version must run in the source environment first: 0, 90s, 30m, 24h, 7d, 2w')
    .action(async (name: string, options: SetOptions) => {
      const environment = parseEnvironmentName(name, 'environment');
      const reply = await context.api().setEnvironment(environment, environmentChangeOf(environment, options));
      context.print(reply, () => renderChange(reply));
    });

  env
    .command('confirm')
    .description('confirm the weakening waiting on an environment (only an administrator other than the one who proposed it may)')
    .argument('<name>', 'the environment, e.g. production')
    .action(async (name: string) => {
      const reply = await context.api().confirmEnvironment(parseEnvironmentName(name, 'environment'));
      context.print(reply, () => renderChange(reply));
    });
}
