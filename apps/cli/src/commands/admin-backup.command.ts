import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { formatTable } from '../format/table.js';

interface BackupOptions {
  readonly out?: string;
  readonly dataDir?: string;
}

const WHERE =
  'NATS_URL must carry a user allowed to snapshot and restore streams (the operator), DATABASE_URL the platform database, ' +
  'FORGEONE_NAMESPACE the platform namespace; --data-dir (default FORGEONE_DATA_DIR or ./.forgeone) holds the secrets folder';

/** What both verbs read from the environment: the same variables the platform runs with. */
async function locationOf(context: CommandContext, dataDir: string | undefined) {
  const { loadConfig } = await import('@forgeone/runtime');
  const env = context.io.env as NodeJS.ProcessEnv;
  const config = loadConfig(env);
  if (!config.natsUrl) throw new UsageError(`NATS_URL is not set: ${WHERE}`);
  if (!config.databaseUrl) throw new UsageError(`DATABASE_URL is not set: ${WHERE}`);
  return {
    natsUrl: config.natsUrl,
    ...(config.natsCaFile ? { tls: { caFile: config.natsCaFile } } : {}),
    databaseUrl: config.databaseUrl,
    namespace: config.namespace,
    dataDir: resolve(context.io.cwd ?? process.cwd(), dataDir ?? env.FORGEONE_DATA_DIR ?? './.forgeone'),
  };
}

/**
 * `forgeone admin backup --out DIR` and `forgeone admin restore DIR`: the operator's backup of the event
 * stream, the object store, the key/value bucket, PostgreSQL and the platform's keys, and its restore into
 * a fresh platform (docs/backup-restore.md).
 */
export function registerAdminBackupCommands(admin: Command, context: CommandContext): void {
  admin
    .command('backup')
    .description(
      'back the platform up into a new folder: PostgreSQL (pg_dump) first, then the event stream, the artifact object store and the plugin key/value bucket ' +
        `(JetStream snapshots, sequence numbers kept), the data folder's secrets, and a manifest with the sha256 of every file. ${WHERE}`,
    )
    .requiredOption('--out <dir>', 'the folder to write (must not exist or be empty); it holds the platform keys: keep it like them')
    .option('--data-dir <dir>', 'the platform data folder whose secrets/ is backed up (default FORGEONE_DATA_DIR or ./.forgeone)')
    .action(async (options: BackupOptions) => {
      const location = await locationOf(context, options.dataDir);
      const { backupPlatform } = await import('@forgeone/runtime');
      const out = resolve(context.io.cwd ?? process.cwd(), options.out!);
      const progress = context.progress(`backing up into ${out}`);
      let result;
      try {
        result = await backupPlatform(location, out);
      } finally {
        progress.stop();
      }
      const { manifest } = result;
      context.print({ dir: out, manifestSha256: result.manifestSha256, manifest }, () =>
        [
          formatTable(
            ['PART', 'NAME', 'CONTENT'],
            [
              ['PostgreSQL', 'database.dump', `taken at ${manifest.postgres.takenAt}, before the streams`],
              ...manifest.streams.map((s) => [s.label, s.meta.config.name, `${s.meta.state.messages} messages, sequences ${s.meta.state.first_seq}-${s.meta.state.last_seq}`]),
              ['secrets', `${manifest.secrets.length} files`, manifest.secrets.length ? manifest.secrets.map((s) => s.replace(/^secrets\//, '')).join(', ') : `none found in ${location.dataDir}/secrets`],
            ],
          ).trimEnd(),
          '',
          `backup written to ${out}; manifest.json sha256 ${result.manifestSha256} (keep it apart from the backup)`,
          '',
        ].join('\n'),
      );
    });

  admin
    .command('restore <dir>')
    .description(
      'restore a backup into a fresh platform before it is started: checks every file against the manifest and that NATS has none of the streams, the database no table ' +
        `and the data folder no secrets, before writing anything. ${WHERE}`,
    )
    .option('--data-dir <dir>', 'the new platform data folder, to receive the secrets (default FORGEONE_DATA_DIR or ./.forgeone)')
    .action(async (dir: string, options: BackupOptions) => {
      const location = await locationOf(context, options.dataDir);
      const { restorePlatform } = await import('@forgeone/runtime');
      const from = resolve(context.io.cwd ?? process.cwd(), dir);
      const progress = context.progress(`restoring ${from}`);
      let result;
      try {
        result = await restorePlatform(location, from);
      } finally {
        progress.stop();
      }
      context.print({ dir: from, streams: result.streams, secrets: result.manifest.secrets, backupCreatedAt: result.manifest.createdAt }, () =>
        [
          formatTable(
            ['PART', 'NAME', 'RESTORED'],
            [
              ...result.streams.map((s) => [s.label, s.stream, `${s.messages} messages up to sequence ${s.lastSeq}`]),
              ['PostgreSQL', 'database.dump', `as of ${result.manifest.postgres.takenAt}`],
              ['secrets', `${result.manifest.secrets.length} files`, `into ${location.dataDir}/secrets`],
            ],
          ).trimEnd(),
          '',
          `restored the backup of ${result.manifest.createdAt}; start the platform on this NATS, database and data folder: the projector catches up from its restored checkpoint`,
          '',
        ].join('\n'),
      );
    });
}
