import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ForgeOneError, SealedSecretSchema, type SealedSecret } from '@forgeone/contracts';

/** The variable that carries the platform's configuration key (base64, 32 bytes) to the services that need it. */
export const CONFIG_SECRET_KEY_ENV = 'FORGEONE_CONFIG_SECRET_KEY';

/**
 * Where the configuration key comes from: the seam between the services that seal and open secrets
 * and however the platform keeps its key (today a file made by the runtime, handed over as a variable;
 * a KMS later). `undefined`: this service was given no key.
 */
export interface ConfigSecretKeyProvider {
  key(): Buffer | undefined;
}

/** The key from FORGEONE_CONFIG_SECRET_KEY; refused, naming the variable, when it is not 32 bytes of base64. */
export function configSecretKeyFromEnv(env: NodeJS.ProcessEnv = process.env): ConfigSecretKeyProvider {
  const text = env[CONFIG_SECRET_KEY_ENV]?.trim();
  if (!text) return { key: () => undefined };
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) throw new Error(`${CONFIG_SECRET_KEY_ENV} must be 32 bytes in standard base64 (44 characters)`);
  return { key: () => key };
}

/**
 * Seals and opens plugin configuration secrets with AES-256-GCM (node:crypto): a fresh 12-byte nonce
 * per value, the binding (tenant, plugin, environment, key) as additional data, so a ciphertext moved
 * elsewhere does not open. Chosen over libsodium's secretbox because it authenticates additional data.
 */
export class ConfigSecretBox {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a configuration key is 32 bytes');
    // Names the key without revealing it, so a rotated key can tell its own ciphertexts.
    this.keyId = createHash('sha256').update('forgeone.config-key-id.v1').update(key).digest('hex').slice(0, 16);
  }

  /** The box of a provider's key, or undefined when the service has none. */
  static from(provider: ConfigSecretKeyProvider): ConfigSecretBox | undefined {
    const key = provider.key();
    return key ? new ConfigSecretBox(key) : undefined;
  }

  seal(plaintext: string, binding: string): SealedSecret {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(binding, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { alg: 'A256GCM', keyId: this.keyId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  /** The secret in clear; PLUGIN_CONFIG.SECRETS_UNAVAILABLE when it was sealed under another key or does not authenticate. */
  open(sealed: SealedSecret, binding: string): string {
    const parsed = SealedSecretSchema.parse(sealed);
    if (parsed.keyId !== this.keyId) {
      throw new ForgeOneError('PLUGIN_CONFIG.SECRETS_UNAVAILABLE', `a configuration secret was sealed under key ${parsed.keyId}, not this platform's ${this.keyId}; set it again`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parsed.nonce, 'base64'));
      decipher.setAAD(Buffer.from(binding, 'utf8'));
      decipher.setAuthTag(Buffer.from(parsed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(parsed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // Never say more: the message must not help anyone probing the key.
      throw new ForgeOneError('PLUGIN_CONFIG.SECRETS_UNAVAILABLE', 'a configuration secret did not authenticate (altered, or moved from another plugin, environment or key); set it again');
    }
  }
}
