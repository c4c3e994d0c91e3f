import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ForgeOneError } from '@forgeone/contracts';
import { generateKeyPair } from '@forgeone/signing';
import type { Command } from 'commander';
import type { KeyInfo, KeyReceipt } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { isoTimeMs } from '../time-span.js';

/** File names `keys generate` writes into its folder. */
export const PRIVATE_KEY_FILE = 'private.pem';
export const PUBLIC_KEY_FILE = 'public.pem';

/** Reads a passphrase from the variable `--passphrase-env` names; never from the command line, where it would be seen. */
export function passphraseFrom(variable: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (!value) throw new UsageError(`--passphrase-env ${variable}: the variable ${variable} is not set or empty; export the passphrase in it first`);
  return value;
}

/** An ISO 8601 time option as the API takes it. */
export function parseTimeOption(option: string, text: string): string {
  const time = isoTimeMs(text);
  if (time === undefined) throw new UsageError(`${option} "${text}" is not a time: give an ISO 8601 time such as 2027-01-31T09:00:00Z`);
  return new Date(time).toISOString();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function status(key: KeyInfo, now: number): string {
  if (key.revokedAt) return `revoked ${formatTime(key.revokedAt)}`;
  if (key.validUntil && Date.parse(key.validUntil) < now) return 'expired';
  if (Date.parse(key.validFrom) > now) return 'not yet valid';
  return 'trusted';
}

function renderKey(verb: string, key: KeyReceipt): string {
  return `${verb} key ${cleanCell(key.keyId)} for publisher ${cleanCell(key.publisher)} (scope ${cleanCell(key.scope)}) (seq ${cleanCell(key.sequence)})\n`;
}

export function registerKeysCommands(program: Command, context: CommandContext): void {
  const keys = program.command('keys').description("generate signing keys and manage your tenant's trusted keys");

  keys
    .command('generate')
    .description(`generate an Ed25519 key pair: <dir>/${PRIVATE_KEY_FILE} (mode 0600) and <dir>/${PUBLIC_KEY_FILE}; prints the key id`)
    .requiredOption('--out <dir>', 'the folder to write the key files to (created if missing)')
    .option('--passphrase-env <var>', 'encrypt the private key (aes-256-cbc) with the passphrase in this environment variable')
    .action(async (options: { out: string; passphraseEnv?: string }) => {
      const passphrase = passphraseFrom(options.passphraseEnv, context.io.env);
      const dir = resolve(context.io.cwd ?? process.cwd(), options.out);
      const privatePath = join(dir, PRIVATE_KEY_FILE);
      const publicPath = join(dir, PUBLIC_KEY_FILE);
      for (const path of [privatePath, publicPath]) {
        if (await exists(path)) throw new ForgeOneError('COMMAND.INVALID', `${path} already exists; keys generate never overwrites a key: choose another --out folder`);
      }
      const pair = generateKeyPair(passphrase !== undefined ? { passphrase } : {});
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // 'wx' fails rather than overwrite if a file appeared in the meantime.
      await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await writeFile(publicPath, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
      const reply = { keyId: pair.keyId, privateKey: privatePath, publicKey: publicPath, encrypted: passphrase !== undefined };
      context.print(reply, () => `${pair.keyId}\n`);
      if (!context.json) {
        context.io.stderr(`wrote ${privatePath} (keep it secret${passphrase !== undefined ? ', encrypted' : ''}) and ${publicPath} (give it to your ForgeOne administrator: forgeone keys trust)\n`);
      }
    });

  keys
    .command('trust')
    .description("trust a publisher's public key in your tenant, so plugins it signs verify")
    .argument('<public.pem>', 'the public key file (from keys generate)')
    .requiredOption('--publisher <publisher>', 'the publisher the key signs for, e.g. acme')
    .option('--scope <glob>', 'plugin names the key may sign, e.g. acme/* or acme/pii-* (default: <publisher>/*)')
    .option('--valid-from <time>', 'the key signs validly from this ISO 8601 time (default: now)')
    .option('--valid-until <time>', 'and until this time (default: until revoked)')
    .action(async (file: string, options: { publisher: string; scope?: string; validFrom?: string; validUntil?: string }) => {
      const path = resolve(context.io.cwd ?? process.cwd(), file);
      const publicKeyPem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ForgeOneError('COMMAND.INVALID', error.code === 'ENOENT' ? `${path} does not exist; give the public key file (public.pem from keys generate)` : `cannot read ${path}: ${error.message}`);
      });
      if (/PRIVATE KEY-----/.test(publicKeyPem)) {
        throw new UsageError(`${path} holds a private key; trust takes the public key (${PUBLIC_KEY_FILE}), and the private key should never leave its owner`);
      }
      const reply = await context.api().trustKey({
        publicKeyPem,
        publisher: options.publisher,
        ...(options.scope !== undefined ? { scope: options.scope } : {}),
        ...(options.validFrom !== undefined ? { validFrom: parseTimeOption('--valid-from', options.validFrom) } : {}),
        ...(options.validUntil !== undefined ? { validUntil: parseTimeOption('--valid-until', options.validUntil) } : {}),
      });
      context.print(reply, () => renderKey('trusted', reply));
    });

  keys
    .command('revoke')
    .description('revoke a key: signatures the platform recorded at or after --at (default now) stop verifying')
    .argument('<keyid>', 'the key id, as keys list shows it')
    .requiredOption('--reason <text>', 'why, for the audit log')
    .option('--at <time>', 'when the key stopped being trustworthy (ISO 8601, not in the future; default now)')
    .action(async (keyId: string, options: { reason: string; at?: string }) => {
      if (!options.reason.trim()) throw new UsageError('--reason must say why the key is revoked; it is kept in the audit log');
      if (!/^[0-9a-f]{64}$/.test(keyId)) throw new UsageError(`"${keyId}" is not a key id: give the 64 hex digits keys list shows`);
      const reply = await context.api().revokeKey(keyId, options.reason, options.at === undefined ? undefined : parseTimeOption('--at', options.at));
      context.print(reply, () => renderKey('revoked', reply));
    });

  keys
    .command('list')
    .description("list your tenant's trusted keys, revoked ones included")
    .action(async () => {
      const reply = await context.api().listKeys();
      const now = Date.now();
      context.print(reply, () =>
        reply.keys.length
          ? formatTable(
              ['KEY ID', 'PUBLISHER', 'SCOPE', 'VALID FROM', 'VALID UNTIL', 'STATUS'],
              reply.keys.map((k) => [k.keyId, k.publisher, k.scope, formatTime(k.validFrom), formatTime(k.validUntil), status(k, now)]),
            )
          : 'no keys trusted yet: forgeone keys trust <public.pem> --publisher <publisher>\n',
      );
    });
}
