import { readFile } from 'node:fs/promises';
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { ForgeOneError, type DsseEnvelope, type PluginStatement } from '@forgeone/contracts';
import { signEnvelope } from './envelope.js';
import { keyIdOf, loadPrivateKey } from './keys.js';

/**
 * Where the platform's signing key lives. The signer only asks for signatures, so a KMS or HSM
 * can stand in for the in-process key without the signer changing.
 */
export interface SigningKeyProvider {
  /** Key id of the signing key (sha256 of its SPKI DER). */
  keyId(): Promise<string>;
  /** The public half of the signing key (Ed25519). */
  publicKey(): Promise<KeyObject>;
  /** An Ed25519 signature over `message` (the DSSE PAE bytes, a note's text). */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** Signs a plugin statement into a DSSE envelope. */
  signStatement(statement: PluginStatement): Promise<DsseEnvelope>;
}

/** A signing key held in memory, loaded from a PEM. */
export class InMemorySigningKeyProvider implements SigningKeyProvider {
  private readonly id: string;

  constructor(private readonly key: KeyObject) {
    this.id = keyIdOf(key);
  }

  async keyId(): Promise<string> {
    return this.id;
  }

  async publicKey(): Promise<KeyObject> {
    return createPublicKey(this.key);
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign(null, message, this.key));
  }

  async signStatement(statement: PluginStatement): Promise<DsseEnvelope> {
    return signEnvelope(statement, this.key);
  }
}

/**
 * The signing key from the environment: FORGEONE_SIGNER_KEY_FILE (a PEM file) or FORGEONE_SIGNER_KEY
 * (the PEM itself, or base64 PKCS#8 DER), optionally encrypted with FORGEONE_SIGNER_KEY_PASSPHRASE. Undefined when neither
 * is set; throws naming the variable when one is set but unusable. `prefix` names another key
 * the same way (`FORGEONE_AUDIT_KEY` for the audit log's checkpoint key).
 */
export async function signingKeyProviderFromEnv(env: NodeJS.ProcessEnv = process.env, prefix = 'FORGEONE_SIGNER_KEY'): Promise<SigningKeyProvider | undefined> {
  const file = env[`${prefix}_FILE`];
  const inline = env[prefix];
  const passphrase = env[`${prefix}_PASSPHRASE`] || undefined;
  if (file && inline) throw new ForgeOneError('KEY.INVALID', `set one of ${prefix}_FILE and ${prefix}, not both`);
  let pem: string;
  let from: string;
  if (file) {
    from = `${prefix}_FILE (${file})`;
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      throw new ForgeOneError('KEY.INVALID', `${from} cannot be read: ${(error as Error).message}`);
    }
  } else if (inline) {
    from = prefix;
    // A one-line value (as a .env holds it) may be the base64 PKCS#8 DER instead of the PEM.
    pem = inline.includes('-----BEGIN') ? inline : `-----BEGIN PRIVATE KEY-----\n${inline.trim()}\n-----END PRIVATE KEY-----\n`;
  } else return undefined;
  try {
    return new InMemorySigningKeyProvider(loadPrivateKey(pem, passphrase));
  } catch (error) {
    throw new ForgeOneError('KEY.INVALID', `${from}: ${(error as Error).message}`);
  }
}
