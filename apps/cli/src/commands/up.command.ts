import type { Command } from 'commander';
import type { RunningPlatform } from '@forgeone/runtime';
import type { CommandContext } from '../command.context.js';

export function registerUpCommand(program: Command, context: CommandContext): void {
  program
    .command('up')
    .description('run the whole platform in the foreground, like `npm start`; stop it with Ctrl+C')
    .action(async () => {
      // Loaded here so the other verbs never pay for NATS, Postgres and the service supervisor.
      const { runPlatform, redactUrl } = await import('@forgeone/runtime');
      const platform: RunningPlatform = await runPlatform({
        env: context.io.env as NodeJS.ProcessEnv,
        // With --json, stdout carries only the JSON document; the platform's own output goes to stderr.
        ...(context.json ? { stdout: process.stderr, logToStderr: true } : {}),
      });
      if (context.json) {
        context.print(
          { status: 'up', apiUrl: platform.apiUrl, natsUrl: redactUrl(platform.natsUrl), databaseUrl: redactUrl(platform.databaseUrl), pids: Object.fromEntries(platform.pids) },
          () => '',
        );
      }
      context.setExitCode(await platform.done);
    });
}
