import type { Command } from 'commander';
import type { CommandContext } from '../command.context.js';
import { formatTable } from '../format/table.js';

export function registerAdminCommands(program: Command, context: CommandContext): Command {
  const admin = program.command('admin').description("operator tasks on the platform's infrastructure (they talk to NATS directly, not to the API)");

  admin
    .command('setup')
    .description(
      "create the platform's event stream, artifact object store and plugin key/value bucket on NATS_URL, or raise their settings " +
        'to FORGEONE_NATS_REPLICAS and the FORGEONE_*_MAX_BYTES limits; never lowers anything. NATS_URL must carry a user allowed to create and update streams',
    )
    .action(async () => {
      // Loaded here so the other verbs never pay for NATS.
      const { loadConfig, loadPlatformNatsConfig, provisionPlatformStorageAt, redactUrl } = await import('@forgeone/runtime');
      const env = context.io.env as NodeJS.ProcessEnv;
      const config = loadConfig(env);
      const nats = loadPlatformNatsConfig(env);
      if (!config.natsUrl) {
        throw new Error('NATS_URL is not set: give the NATS to provision, with a user allowed to create and update streams (e.g. nats://operator:<password>@nats:4222)');
      }
      const storage = await provisionPlatformStorageAt(config.natsUrl, config.namespace, nats.storage);
      context.print({ natsUrl: redactUrl(config.natsUrl), namespace: config.namespace, settings: nats.storage, storage }, () =>
        formatTable(
          ['STORAGE', 'STREAM', 'ACTION', 'CHANGES'],
          storage.map((s) => [s.label, s.stream, s.action, s.changes.join(', ')]),
        ),
      );
    });
  return admin;
}
