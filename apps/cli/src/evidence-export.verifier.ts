import { createHash, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { DsseEnvelopeSchema, EVIDENCE_MANIFEST_PAYLOAD_TYPE, EvidenceManifestSchema, type EvidenceManifest } from '@forgeone/contracts';
import { decodeStrictBase64, keyIdOf, leafHash, NoteVerificationError, openCheckpoint, pae, ProofVerificationError, sha256File, verifyInclusion } from '@forgeone/signing';

/** The files of an export that the manifest cannot list: itself and its signature. */
export const MANIFEST_FILE = 'manifest.json';
export const ENVELOPE_FILE = 'manifest.dsse.json';

/** What verify-export established, or the first file that failed and why. */
export interface EvidenceVerification {
  readonly ok: boolean;
  readonly framework?: string;
  readonly tenant?: string;
  readonly period?: { readonly from: string; readonly before: string };
  readonly files: number;
  readonly proofs: number;
  readonly keyId: string;
  readonly checkpoint?: { readonly treeSize: number; readonly rootHash: string };
  readonly failure?: { readonly file: string; readonly reason: string };
}

class ExportFault extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(reason);
  }
}


async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path, base)));
    else out.push(relative(base, path).split(sep).join('/'));
  }
  return out;
}

async function readJson(dir: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (error) {
    throw new ExportFault(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ExportFault(file, 'is not JSON');
  }
}

/**
 * Checks an evidence export offline, with the audit public key only: the manifest's DSSE signature,
 * every file's sha256 and size against the manifest (and no file the manifest does not list), the
 * checkpoint note's signature, each population's row digest and count, and every sample row's
 * inclusion proof against the checkpoint. Stops at the first failure and names its file.
 */
export async function verifyEvidenceExport(dir: string, key: KeyObject, onProgress: (text: string) => void = () => undefined): Promise<EvidenceVerification> {
  const keyId = keyIdOf(key);
  let files = 0;
  let proofs = 0;
  let manifest: EvidenceManifest | undefined;
  try {
    // 1. The manifest's signature, over its exact bytes.
    const envelope = DsseEnvelopeSchema.safeParse(await readJson(dir, ENVELOPE_FILE));
    if (!envelope.success) throw new ExportFault(ENVELOPE_FILE, 'is not a DSSE envelope');
    if (envelope.data.payloadType !== EVIDENCE_MANIFEST_PAYLOAD_TYPE) throw new ExportFault(ENVELOPE_FILE, `has payload type ${envelope.data.payloadType}, not ${EVIDENCE_MANIFEST_PAYLOAD_TYPE}`);
    const payload = decodeStrictBase64(envelope.data.payload)!;
    const signed = envelope.data.signatures.some((s) => {
      const sig = decodeStrictBase64(s.sig);
      return sig !== undefined && verify(null, pae(envelope.data.payloadType, payload), key, sig);
    });
    if (!signed) throw new ExportFault(ENVELOPE_FILE, `no signature verifies with the audit key ${keyId}`);
    let manifestBytes: Buffer;
    try {
      manifestBytes = await readFile(join(dir, MANIFEST_FILE));
    } catch {
      throw new ExportFault(MANIFEST_FILE, 'is missing');
    }
    if (!manifestBytes.equals(Buffer.from(payload))) throw new ExportFault(MANIFEST_FILE, 'differs from the manifest the signature covers');
    const parsed = EvidenceManifestSchema.safeParse(JSON.parse(manifestBytes.toString('utf8')));
    if (!parsed.success) throw new ExportFault(MANIFEST_FILE, 'is not an evidence manifest');
    manifest = parsed.data;

    // 2. Every file, byte for byte; nothing more, nothing less.
    const listed = new Map(manifest.files.map((f) => [f.path, f]));
    for (const path of (await listFiles(dir)).sort()) {
      if (path !== MANIFEST_FILE && path !== ENVELOPE_FILE && !listed.has(path)) throw new ExportFault(path, 'is not listed in the manifest');
    }
    for (const file of manifest.files) {
      let found: { sha256: string; bytes: number };
      try {
        found = await sha256File(join(dir, file.path));
      } catch {
        throw new ExportFault(file.path, 'is listed in the manifest but missing');
      }
      if (found.sha256 !== file.sha256 || found.bytes !== file.bytes) {
        throw new ExportFault(file.path, `has sha256 ${found.sha256} (${found.bytes} bytes), but the manifest says ${file.sha256} (${file.bytes} bytes)`);
      }
      files += 1;
      onProgress(`checked ${files} of ${manifest.files.length} files`);
    }

    // 3. The checkpoint every sample is proven against, signed by the same key.
    const checkpoint = (await readJson(dir, 'checkpoint.json')) as { note?: string; origin?: string; treeSize?: number; rootHash?: string };
    let body;
    try {
      body = openCheckpoint(String(checkpoint.note), String(checkpoint.origin), key);
    } catch (error) {
      if (error instanceof NoteVerificationError) throw new ExportFault('checkpoint.json', `the checkpoint note does not verify: ${error.message}`);
      throw error;
    }
    const root = body.rootHash.toString('hex');
    if (body.treeSize !== manifest.checkpoint.treeSize || root !== manifest.checkpoint.rootHash) {
      throw new ExportFault('checkpoint.json', `the note says tree size ${body.treeSize}, root ${root}; the manifest says ${manifest.checkpoint.treeSize}, ${manifest.checkpoint.rootHash}`);
    }

    // 4. Populations (digest and count of their rows) and samples (each row proven in the checkpoint).
    for (const file of manifest.files.filter((f) => f.path.endsWith('/population.json'))) {
      const folder = file.path.slice(0, -'population.json'.length);
      const population = (await readJson(dir, file.path)) as { rows?: number; rowsSha256?: string };
      const rowsHash = createHash('sha256');
      const sampled = new Map<number, boolean>();
      const sample = (await readJson(dir, `${folder}sample.json`)) as { rows?: { row: Record<string, unknown>; proof: { sequence: number; leaf: string; leafHash: string; leafIndex: number; treeSize: number; path: string[] } }[] };
      for (const { row, proof } of sample.rows ?? []) {
        const where = `${folder}sample.json`;
        let leaf: Record<string, unknown>;
        try {
          leaf = JSON.parse(proof.leaf) as Record<string, unknown>;
        } catch {
          throw new ExportFault(where, `the leaf of row ${String(row['sequence'])} is not JSON`);
        }
        if (leaf['sequence'] !== row['sequence'] || proof.sequence !== row['sequence']) throw new ExportFault(where, `the proof of row ${String(row['sequence'])} is for stream sequence ${String(leaf['sequence'])}`);
        if (leaf['tenant'] !== manifest.tenant) throw new ExportFault(where, `row ${String(row['sequence'])} is a leaf of tenant ${String(leaf['tenant'])}, not ${manifest.tenant}`);
        const hash = leafHash(proof.leaf);
        if (hash.toString('hex') !== proof.leafHash) throw new ExportFault(where, `the leaf of row ${String(row['sequence'])} hashes to ${hash.toString('hex')}, not ${proof.leafHash}`);
        if (proof.treeSize !== body.treeSize) throw new ExportFault(where, `the proof of row ${String(row['sequence'])} is for tree size ${proof.treeSize}, not the checkpoint's ${body.treeSize}`);
        try {
          verifyInclusion(proof.leafIndex, proof.treeSize, hash, proof.path.map((h) => Buffer.from(h, 'hex')), body.rootHash);
        } catch (error) {
          if (error instanceof ProofVerificationError) throw new ExportFault(where, `row ${String(row['sequence'])} is not proven in the checkpoint: ${error.message}`);
          throw error;
        }
        sampled.set(row['sequence'] as number, false);
        proofs += 1;
      }
      let count = 0;
      const lines = createInterface({ input: createReadStream(join(dir, `${folder}rows.jsonl`)), crlfDelay: Infinity });
      for await (const line of lines) {
        rowsHash.update(`${line}\n`);
        count += 1;
        if (sampled.size > 0) {
          const sequence = (JSON.parse(line) as { sequence?: unknown }).sequence;
          if (typeof sequence === 'number' && sampled.has(sequence)) sampled.set(sequence, true);
        }
      }
      if (rowsHash.digest('hex') !== population.rowsSha256 || count !== population.rows) {
        throw new ExportFault(file.path, `states ${String(population.rows)} rows with sha256 ${String(population.rowsSha256)}, but ${folder}rows.jsonl holds ${count} rows with another digest`);
      }
      const stray = [...sampled].find(([, seen]) => !seen);
      if (stray) throw new ExportFault(`${folder}sample.json`, `sample row ${stray[0]} is not in the population (${folder}rows.jsonl)`);
      onProgress(`checked ${proofs} proofs`);
    }
    return { ok: true, framework: manifest.framework, tenant: manifest.tenant, period: { from: manifest.from, before: manifest.before }, files, proofs, keyId, checkpoint: { treeSize: body.treeSize, rootHash: root } };
  } catch (error) {
    if (!(error instanceof ExportFault)) throw error;
    return {
      ok: false,
      ...(manifest ? { framework: manifest.framework, tenant: manifest.tenant, period: { from: manifest.from, before: manifest.before } } : {}),
      files,
      proofs,
      keyId,
      failure: { file: error.file, reason: error.message },
    };
  }
}
