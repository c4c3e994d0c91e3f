import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { canonicalJson, ForgeOneError, SIGNATURE_FILE, type DsseEnvelope } from '@forgeone/contracts';
import { addSignature, buildPluginStatement, keyIdOf, loadPrivateKey, parseEnvelope, readEnvelopeStatement, serializeEnvelope, signEnvelope } from '@forgeone/signing';
import type { Command } from 'commander';
import type { CommandContext } from '../command.context.js';
import { readPluginFolder } from '../plugin-folder.reader.js';
import { passphraseFrom } from './keys.command.js';
import { parseExpires } from './token.command.js';

interface SignOptions {
  readonly key: string;
  readonly passphraseEnv?: string;
  readonly publisher?: string;
  readonly expires?: string;
}

/** Reads plugin.sig.json of a folder, or undefined when there is none. */
export async function readSignatureFile(folder: string): Promise<string | undefined> {
  try {
    return await readFile(join(folder, SIGNATURE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${join(folder, SIGNATURE_FILE)}: ${(error as Error).message}`);
  }
}

/** Adds `plugin sign` to the `plugin` command. */
export function registerSignCommand(plugin: Command, context: CommandContext): void {
  plugin
    .command('sign')
    .description(`sign a plugin folder: writes <dir>/${SIGNATURE_FILE}; signing an already signed folder adds a signature (for thresholds)`)
    .argument('<dir>', 'the plugin folder (forgeone.plugin.json and plugin.wasm)')
    .requiredOption('--key <private.pem>', 'your private key (from forgeone keys generate)')
    .option('--passphrase-env <var>', 'the environment variable holding the passphrase of an encrypted key')
    .option('--publisher <publisher>', 'the publisher you sign as (default: the part of the plugin name before "/")')
    .option('--expires <time>', 'the signature stops verifying after this ISO 8601 time or span from now (e.g. 90d)')
    .action(async (dir: string, options: SignOptions) => {
      const cwd = context.io.cwd ?? process.cwd();
      const folder = resolve(cwd, dir);
      const passphrase = passphraseFrom(options.passphraseEnv, context.io.env);
      const keyPath = resolve(cwd, options.key);
      const pem = await readFile(keyPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ForgeOneError('COMMAND.INVALID', error.code === 'ENOENT' ? `${keyPath} does not exist; give your private key file (private.pem from keys generate)` : `cannot read ${keyPath}: ${error.message}`);
      });
      const key = loadPrivateKey(pem, passphrase);
      const { manifest, wasm } = await readPluginFolder(dir, cwd);
      const name = String(manifest['name']);
      const existingText = await readSignatureFile(folder);
      const existing = existingText === undefined ? undefined : parseEnvelope(existingText);
      const previous = existing ? readEnvelopeStatement(existing) : undefined;
      // A co-signer who gives no --expires signs the statement as the first signer wrote it.
      const expiresAt = options.expires !== undefined ? parseExpires(options.expires, new Date()) : previous?.predicate.expiresAt;
      const statement = buildPluginStatement({ wasm, manifest, publisher: options.publisher ?? name.split('/')[0], ...(expiresAt ? { expiresAt } : {}) });

      let envelope: DsseEnvelope;
      let replaced = false;
      if (existing && previous && canonicalJson(previous) === canonicalJson(statement)) {
        envelope = addSignature(existing, key);
      } else {
        // Signatures over another statement (older bytes, another version) vouch for nothing here.
        replaced = existing !== undefined;
        envelope = signEnvelope(statement, key);
      }
      const path = join(folder, SIGNATURE_FILE);
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, serializeEnvelope(envelope), { mode: 0o644 });
      await rename(temporary, path);

      const keyId = keyIdOf(key);
      const reply = { file: path, keyId, keyIds: envelope.signatures.map((s) => s.keyid), replaced, statement };
      context.print(reply, () => `signed ${name}@${String(manifest['version'])} with key ${keyId} (${envelope.signatures.length} signature(s)) into ${path}\n`);
      if (replaced && !context.json) context.io.stderr(`note: the previous ${SIGNATURE_FILE} was for other content and was replaced\n`);
    });
}
