import { resolve } from 'node:path';
import { assertValidClientName, busPermissions, names as namesFor } from '@forgeone/contracts';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { registerAdminBackupCommands } from './admin-backup.command.js';
import { registerAdminRebuildCommand } from './admin-rebuild.command.js';

interface DataDirOptions {
  readonly dataDir?: string;
}

// The same default as `npm start`: FORGEONE_DATA_DIR, else ./.forgeone (relative to where the CLI runs).
function dataDirOf(context: CommandContext, options: DataDirOptions): string {
  return resolve(context.io.cwd ?? process.cwd(), options.dataDir ?? context.io.env.FORGEONE_DATA_DIR ?? './.forgeone');
}

function namespaceOf(context: CommandContext, given: string | undefined): string {
  return given ?? context.io.env.FORGEONE_NAMESPACE ?? '';
}

export function registerAdminCommands(program: Command, context: CommandContext): Command {
  const admin = program.command('admin').description("operator tasks on the platform's infrastructure: NATS storage, clients and configuration, projection rebuilds, backup and restore (they work on NATS and the data folder directly, not through the API)");
  const clients = admin
    .command('nats-client')
    .description('named, revocable NATS credentials for automation that sends commands and invocations on the bus (the NATS of `npm start`)');

  clients
    .command('create <name>')
    .description('issue an NKey credential for automation; prints its seed, which is shown only this once')
    .option('--data-dir <dir>', 'the platform data folder (default FORGEONE_DATA_DIR or ./.forgeone)')
    .action(async (name: string, options: DataDirOptions) => {
      const runtime = await import('@forgeone/runtime');
      try {
        assertValidClientName(name);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const dataDir = dataDirOf(context, options);
      const created = await runtime.createNatsClient(dataDir, name);
      const reloaded = await runtime.reloadManagedNats(dataDir);
      const names = namesFor(namespaceOf(context, undefined));
      const permissions = busPermissions(names, { kind: 'client', name });
      context.print({ name, seed: created.seed, publicKey: created.publicKey, inboxPrefix: permissions.inboxPrefix, publish: permissions.publish, reloaded }, () =>
        [
          created.seed,
          '',
          `NATS client "${name}" created (public key ${created.publicKey}); the seed above is shown only this once.`,
          `Connect with it as an NKey (nats.js: authenticator: nkeyAuthenticator(seed)) and inbox prefix ${permissions.inboxPrefix};`,
          `it may send requests on ${permissions.publish.join(', ')}, each carrying an API token in its Authorization header.`,
          reloaded ? 'The running NATS server has reloaded its users.' : 'No running NATS server of this data folder was found: the credential works from the next start.',
          '',
        ].join('\n'),
      );
    });

  clients
    .command('list')
    .description('list the automation clients and when they were created')
    .option('--data-dir <dir>', 'the platform data folder (default FORGEONE_DATA_DIR or ./.forgeone)')
    .action(async (options: DataDirOptions) => {
      const runtime = await import('@forgeone/runtime');
      const credentials = await runtime.loadOrCreateNatsCredentials(dataDirOf(context, options));
      const rows = Object.entries(credentials.clients).map(([name, client]) => ({ name, publicKey: client.publicKey, createdAt: client.createdAt }));
      context.print({ clients: rows }, () =>
        rows.length === 0
          ? 'no NATS clients (forgeone admin nats-client create NAME issues one)\n'
          : formatTable(['NAME', 'PUBLIC KEY', 'CREATED'], rows.map((row) => [cleanCell(row.name), row.publicKey, formatTime(row.createdAt)])),
      );
    });

  clients
    .command('revoke <name>')
    .description('remove an automation client; a running NATS server closes its connections at once')
    .option('--data-dir <dir>', 'the platform data folder (default FORGEONE_DATA_DIR or ./.forgeone)')
    .action(async (name: string, options: DataDirOptions) => {
      const runtime = await import('@forgeone/runtime');
      const dataDir = dataDirOf(context, options);
      await runtime.revokeNatsClient(dataDir, name);
      const reloaded = await runtime.reloadManagedNats(dataDir);
      context.print({ name, revoked: true, reloaded }, () =>
        `NATS client "${name}" revoked${reloaded ? '; the running NATS server has closed its connections' : '; it is refused from the next start'}\n`,
      );
    });

  admin
    .command('nats-config')
    .description('print the accounts block for a NATS server you run yourself: every service and the operator, with the permissions ForgeOne needs, passwords read from variables')
    .option('--namespace <ns>', 'the platform namespace (default FORGEONE_NAMESPACE)')
    .action(async (options: { namespace?: string }) => {
      const runtime = await import('@forgeone/runtime');
      let names;
      try {
        names = namesFor(namespaceOf(context, options.namespace));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const text = runtime.renderPasswordAccounts(names);
      context.print({ namespace: names.namespace, config: text }, () => text);
    });

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
      const storage = await provisionPlatformStorageAt(config.natsUrl, config.namespace, nats.storage, undefined, config.natsCaFile ? { caFile: config.natsCaFile } : {});
      context.print({ natsUrl: redactUrl(config.natsUrl), namespace: config.namespace, settings: nats.storage, storage }, () =>
        formatTable(
          ['STORAGE', 'STREAM', 'ACTION', 'CHANGES'],
          storage.map((s) => [s.label, s.stream, s.action, s.changes.join(', ')]),
        ),
      );
    });

  registerAdminRebuildCommand(admin, context);
  registerAdminBackupCommands(admin, context);
  return admin;
}
