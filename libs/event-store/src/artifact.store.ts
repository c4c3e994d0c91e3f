import { createHash } from 'node:crypto';
import { DigestSchema, ForgeOneError, type Names } from '@forgeone/contracts';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { isUnreachable } from './nats-error.mapper.js';

export interface PutArtifactResult {
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string;
  readonly sizeBytes: number;
  /** False when an object with this digest and size was already stored. */
  readonly created: boolean;
}

/**
 * Content-addressed artifact storage over a JetStream object store bucket
 * (`names.artifactBucket`). Objects are named by their sha256 hex digest, and every read
 * re-hashes the bytes, so a tampered or damaged object is never handed out. The bucket is
 * provisioned by the operator step (`provisionPlatformStorage`); this class only opens it.
 */
export class ArtifactStore {
  private store?: Promise<ObjectStore>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
  ) {}

  /** Stores `bytes` under their digest; does not write again when the same content is already there. */
  async put(bytes: Uint8Array): Promise<PutArtifactResult> {
    const hex = sha256Hex(bytes);
    const digest = `sha256:${hex}`;
    const store = await this.bucket();
    const info = await this.guard(`checking artifact ${digest}`, () => store.info(hex));
    if (info && !info.deleted && info.size === bytes.byteLength) return { digest, sizeBytes: bytes.byteLength, created: false };
    await this.guard(`storing artifact ${digest}`, () => store.putBlob({ name: hex }, bytes));
    return { digest, sizeBytes: bytes.byteLength, created: true };
  }

  /**
   * Reads an artifact and checks its bytes against `digest`. Throws REGISTRY.ARTIFACT_MISSING
   * when absent and REGISTRY.ARTIFACT_CORRUPT when the bytes do not hash to `digest`.
   */
  async get(digest: string): Promise<Uint8Array> {
    const hex = hexOf(digest);
    const store = await this.bucket();
    let bytes: Uint8Array | null;
    try {
      bytes = await store.getBlob(hex);
    } catch (error) {
      if (isUnreachable(error)) throw unreachable(`reading artifact ${digest}`, error);
      // The object store checks its own chunk digest and rejects a damaged object.
      throw corrupt(digest, (error as Error).message);
    }
    if (!bytes) {
      throw new ForgeOneError('REGISTRY.ARTIFACT_MISSING', `artifact ${digest} is not in the artifact store; publish the plugin version again`, { digest });
    }
    const actual = `sha256:${sha256Hex(bytes)}`;
    if (actual !== digest) throw corrupt(digest, `its bytes hash to ${actual}`);
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    const hex = hexOf(digest);
    const store = await this.bucket();
    const info = await this.guard(`checking artifact ${digest}`, () => store.info(hex));
    return info !== null && !info.deleted;
  }

  /** Removes an artifact (one uploaded for a publish that was then refused). Absent is not an error. */
  async delete(digest: string): Promise<void> {
    const hex = hexOf(digest);
    const store = await this.bucket();
    const info = await this.guard(`checking artifact ${digest}`, () => store.info(hex));
    if (!info || info.deleted) return;
    await this.guard(`deleting artifact ${digest}`, () => store.delete(hex));
  }

  private bucket(): Promise<ObjectStore> {
    this.store ??= this.guard(`opening artifact bucket ${this.names.artifactBucket}`, () => new Objm(this.nc).open(this.names.artifactBucket)).catch((error) => {
      // Let a later call try again once NATS is back (or the bucket is provisioned).
      this.store = undefined;
      if (error instanceof Error && error.message === 'object store not found') {
        throw new ForgeOneError(
          'EVENTSTORE.UNAVAILABLE',
          `artifact bucket ${this.names.artifactBucket} does not exist: an operator provisions it with \`forgeone admin setup\``,
          { bucket: this.names.artifactBucket },
        );
      }
      throw error;
    });
    return this.store;
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (isUnreachable(error)) throw unreachable(what, error);
      throw error;
    }
  }
}

/** Factory for {@link ArtifactStore}. */
export function createArtifactStore(nc: NatsConnection, names: Names): ArtifactStore {
  return new ArtifactStore(nc, names);
}

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hexOf(digest: string): string {
  if (!DigestSchema.safeParse(digest).success) {
    throw new ForgeOneError('COMMAND.INVALID', `artifact digest "${digest}" is invalid: use sha256:<64 lowercase hex digits>`, { digest });
  }
  return digest.slice('sha256:'.length);
}

function corrupt(digest: string, reason: string): ForgeOneError {
  return new ForgeOneError(
    'REGISTRY.ARTIFACT_CORRUPT',
    `artifact ${digest} is corrupt (${reason}); it will not be served: restore it from a trusted copy or publish the version again`,
    { digest, reason },
  );
}

function unreachable(what: string, error: unknown): ForgeOneError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ForgeOneError('EVENTSTORE.UNAVAILABLE', `${what} failed: JetStream is not reachable (${reason}); check that NATS with JetStream is running`, { reason });
}
