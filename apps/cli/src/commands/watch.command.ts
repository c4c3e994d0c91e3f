import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../command.context.js';
import { UsageError } from '../cli.errors.js';
import { printable } from '../plugins-directory/drop-folder.checks.js';
import { ENVIRONMENT_GATED, PluginsDirectoryReconciler, type FolderOutcome } from '../plugins-directory/plugins-directory.reconciler.js';
import { watchPluginsDirectory } from '../plugins-directory/plugins-directory.watcher.js';
import { parseEnvironmentName } from './env.command.js';

interface WatchOptions {
  readonly env: string;
  readonly once?: boolean;
  readonly removeMissing: boolean;
  readonly settleMs: string;
}

/** The watcher refuses an environment that takes versions by promotion only. */
export class GatedEnvironmentError extends Error {
  override readonly name = 'GatedEnvironmentError';
  readonly code = ENVIRONMENT_GATED;
}

const DEFAULT_SETTLE_MS = 2_000;

function parseSettle(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 50 || value > 600_000) throw new UsageError(`--settle-ms "${text}" must be a whole number of milliseconds from 50 to 600000`);
  return value;
}

function line(outcome: FolderOutcome): string {
  return `${printable(outcome.folder)}: ${outcome.message}\n`;
}

/**
 * `forgeone watch DIR --env ENV`: the plugins/ directory (docs/plugins-directory.md). A client of the
 * API like every verb, with the token of the profile or FORGEONE_TOKEN (a `watcher` token).
 */
export function registerWatchCommand(program: Command, context: CommandContext): void {
  program
    .command('watch')
    .description('keep an environment that is not gated in line with a folder of plugin folders: publish and install or upgrade each one dropped or changed, remove the installation of one taken away')
    .argument('<dir>', 'the watched folder; each folder inside holds forgeone.plugin.json, plugin.wasm and optionally plugin.sig.json')
    .requiredOption('--env <env>', 'the environment to keep in line (not a gated one), e.g. staging')
    .option('--once', 'reconcile every folder once and exit (1 when a folder was refused or failed, or the environment became gated)')
    .option('--no-remove-missing', 'leave the installation in place when its folder is taken away')
    .option('--settle-ms <ms>', 'how long the files of a folder must stop changing before they are read', String(DEFAULT_SETTLE_MS))
    .action(async (dirText: string, options: WatchOptions) => {
      const environment = parseEnvironmentName(options.env, '--env');
      const settleMs = parseSettle(options.settleMs);
      const dir = resolve(context.io.cwd ?? process.cwd(), dirText);
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) throw new UsageError(`${dir} is not a folder; create it (mkdir -p ${dirText}) or give the folder that holds the plugin folders`);

      const api = context.api();
      const env = await api.showEnvironment(environment);
      if (env.settings.gated) {
        throw new GatedEnvironmentError(
          `${environment} is gated (versions come by promotion from ${env.settings.promotedFrom ?? 'another environment'}); the plugins directory only keeps an environment that is not gated, e.g. --env ${env.settings.promotedFrom ?? 'staging'}`,
        );
      }
      const reconciler = new PluginsDirectoryReconciler(api, { dir, environment, removeMissing: options.removeMissing, settleMs });
      const print = (outcome: FolderOutcome) => context.io.stdout(context.json ? `${JSON.stringify(outcome)}\n` : line(outcome));

      if (options.once) {
        const outcomes = await reconciler.reconcileAll();
        outcomes.forEach(print);
        if (!context.json) context.io.stdout(`${dir}: ${outcomes.length} folder(s) looked at, ${summary(outcomes)}\n`);
        if (outcomes.some((o) => o.outcome === 'rejected' || o.outcome === 'failed' || o.outcome === 'gated')) context.setExitCode(1);
        return;
      }

      if (!context.json) context.io.stdout(`watching ${dir} into ${environment} (not gated); a folder taken away ${options.removeMissing ? 'removes' : 'leaves'} its installation; Ctrl+C stops\n`);
      const watch = watchPluginsDirectory(reconciler, {
        dir,
        settleMs,
        onOutcome: print,
        onError: (error) => context.io.stderr(`watch: ${error.message}\n`),
      });
      await watch.ready;
      context.io.stdout(context.json ? `${JSON.stringify({ watching: dir, environment, ready: true })}\n` : `${dir}: first pass done, watching for changes\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await watch.close();
    });
}

function summary(outcomes: readonly FolderOutcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + 1);
  return counts.size ? [...counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ') : 'nothing to do';
}
