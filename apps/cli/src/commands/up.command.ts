import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RunningPlatform } from '@forgeone/runtime';
import { createApiClient } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { printable } from '../plugins-directory/drop-folder.checks.js';
import { PluginsDirectoryReconciler } from '../plugins-directory/plugins-directory.reconciler.js';
import { watchPluginsDirectory, type DirectoryWatch } from '../plugins-directory/plugins-directory.watcher.js';
import { parseEnvironmentName } from './env.command.js';

interface WatchSettings {
  readonly dir: string;
  readonly environment: string;
}

/**
 * What `npm start` watches: ./plugins into staging unless FORGEONE_WATCH=off or --no-watch; the folder
 * from FORGEONE_WATCH_DIR, the environment from FORGEONE_WATCH_ENV. Read before the platform starts,
 * which removes the platform's variables from this process.
 */
export function watchSettingsOf(env: Readonly<Record<string, string | undefined>>, cwd: string, flag: boolean): WatchSettings | undefined {
  const switchText = env['FORGEONE_WATCH']?.trim().toLowerCase();
  if (switchText !== undefined && switchText !== '' && !['on', 'off', '1', '0', 'true', 'false'].includes(switchText)) {
    throw new UsageError(`FORGEONE_WATCH "${env['FORGEONE_WATCH']}" must be on or off`);
  }
  if (!flag || switchText === 'off' || switchText === '0' || switchText === 'false') return undefined;
  const dir = resolve(cwd, env['FORGEONE_WATCH_DIR']?.trim() || 'plugins');
  const environment = parseEnvironmentName(env['FORGEONE_WATCH_ENV']?.trim() || 'staging', 'FORGEONE_WATCH_ENV');
  return { dir, environment };
}

export function registerUpCommand(program: Command, context: CommandContext): void {
  program
    .command('up')
    .description('run the whole platform in the foreground, like `npm start`, and watch ./plugins into staging; stop it with Ctrl+C')
    .option('--no-watch', 'do not watch a plugins directory (also FORGEONE_WATCH=off)')
    .action(async (options: { watch: boolean }) => {
      const settings = watchSettingsOf(context.io.env, context.io.cwd ?? process.cwd(), options.watch);
      // Loaded here so the other verbs never pay for NATS, Postgres and the service supervisor.
      const { runPlatform, redactUrl } = await import('@forgeone/runtime');
      const platform: RunningPlatform = await runPlatform({
        env: context.io.env as NodeJS.ProcessEnv,
        watcherToken: settings !== undefined,
        // With --json, stdout carries only the JSON document; the platform's own output goes to stderr.
        ...(context.json ? { stdout: process.stderr, logToStderr: true } : {}),
      });
      if (context.json) {
        context.print(
          { status: 'up', apiUrl: platform.apiUrl, natsUrl: redactUrl(platform.natsUrl), databaseUrl: redactUrl(platform.databaseUrl), pids: Object.fromEntries(platform.pids), metrics: platform.metricsUrls },
          () => '',
        );
      }
      const watch = settings && platform.watcherToken ? await startWatching(context, platform.apiUrl, platform.watcherToken, settings) : undefined;
      context.setExitCode(await platform.done);
      await watch?.close();
    });
}

// The platform runs on whatever happens to the watcher: a gated environment or an unreadable folder is said once and the watcher stays off.
async function startWatching(context: CommandContext, apiUrl: string, token: string, settings: WatchSettings): Promise<DirectoryWatch | undefined> {
  const say = (text: string) => (context.json ? context.io.stderr(text) : context.io.stdout(text));
  try {
    const api = createApiClient({ baseUrl: apiUrl, token });
    const env = await api.showEnvironment(settings.environment);
    if (env.settings.gated) {
      context.io.stderr(`plugins directory: not watching: ${settings.environment} is gated (versions come by promotion); set FORGEONE_WATCH_ENV to an environment that is not gated\n`);
      return undefined;
    }
    await mkdir(settings.dir, { recursive: true });
    const settleMs = 2_000;
    const reconciler = new PluginsDirectoryReconciler(api, { dir: settings.dir, environment: settings.environment, removeMissing: true, settleMs });
    say(`plugins directory: watching ${settings.dir} into ${settings.environment} as plugins-dir (tenant default); FORGEONE_WATCH=off or --no-watch turns it off\n`);
    const watch = watchPluginsDirectory(reconciler, {
      dir: settings.dir,
      settleMs,
      onOutcome: (o) => say(`plugins directory: ${printable(o.folder)}: ${o.message}\n`),
      onError: (error) => context.io.stderr(`plugins directory: ${error.message}\n`),
    });
    void watch.ready.catch((error: unknown) => context.io.stderr(`plugins directory: first pass failed: ${(error as Error).message}\n`));
    return watch;
  } catch (error) {
    context.io.stderr(`plugins directory: not watching: ${(error as Error).message}\n`);
    return undefined;
  }
}
