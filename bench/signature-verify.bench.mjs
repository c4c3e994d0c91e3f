#!/usr/bin/env node
// Benchmark: verifications per second of verifyPluginEnvelope (libs/signing) for a 5 MiB plugin,
// the sha256 of the module bytes included, against the floor of the same work done raw: sha256 of
// the bytes plus one Ed25519 verify with a cached KeyObject, measured in the same run. A second pair
// leaves the module hash out to show the fixed cost of the envelope checks on their own.
//
//   node bench/signature-verify.bench.mjs [--n 300] [--small-n 20000] [--size-mib 5] [--rounds 3]
//
// Needs a build (`npm run build`). No services. Prints a table and writes bench/results/signature-verify.json.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureSync, printTable, repoRoot as root, writeResults } from './bench-kit.mjs';
import { signatureVerifyReport } from './report-rows.mjs';

if (!existsSync(join(root, 'libs', 'signing', 'dist', 'index.js'))) {
  console.error('Not built: libs/signing/dist/index.js missing. Run `npm run build` first.');
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    'small-n': { type: 'string', default: '20000' },
    'size-mib': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(args.n);
const SMALL_N = Number(args['small-n']);
const SIZE = Number(args['size-mib']) * 1024 * 1024;
const ROUNDS = Number(args.rounds);

const signing = await import('@forgeone/signing');
const { KEY_EVENT_TYPES } = await import('@forgeone/contracts');

const manifest = {
  name: 'acme/big',
  version: '1.0.0',
  abi: 1,
  description: 'benchmark plugin',
  handlers: ['run'],
  capabilities: { log: true },
  limits: { memoryMiB: 64, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 1024 },
};
const wasm = new Uint8Array(randomBytes(SIZE));
const manifestDigest = signing.pluginManifestDigest(manifest);
const pair = signing.generateKeyPair();
const envelope = signing.signEnvelope(signing.buildPluginStatement({ wasm, manifest, publisher: 'acme' }), pair.privateKeyPem);
const envelopeBytes = new TextEncoder().encode(signing.serializeEnvelope(envelope));
const trustStore = signing.trustStoreOf([
  {
    type: KEY_EVENT_TYPES.trusted,
    data: { keyId: pair.keyId, publicKeyPem: pair.publicKeyPem, publisher: 'acme', scope: 'acme/*', validFrom: '2026-01-01T00:00:00Z', validUntil: null, trustedBy: 'bench' },
  },
]);
const signedAt = new Date();
const now = new Date();

// The raw floor: what any verifier must do at least (hash the bytes, one Ed25519 verify over PAE).
const publicKey = createPublicKey(pair.publicKeyPem);
const pae = signing.pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
const expectedHex = createHash('sha256').update(wasm).digest('hex');

function raw(bytes) {
  const hex = bytes ? createHash('sha256').update(bytes).digest('hex') : expectedHex;
  if (hex !== expectedHex || !verify(null, pae, publicKey, sig)) throw new Error('raw verification failed');
}
function library(bytes) {
  const wasmDigest = bytes ? signing.sha256Digest(bytes) : `sha256:${expectedHex}`;
  const result = signing.verifyPluginEnvelope({ envelope: envelopeBytes, wasmDigest, manifestDigest, manifest, trustStore, signedAt, now });
  if (!result.ok) throw new Error(`verifyPluginEnvelope refused: ${result.reason} ${result.message}`);
}

const pairs = [
  { label: `${args['size-mib']} MiB plugin`, n: N, bytes: wasm },
  { label: 'digest given (no module hash)', n: SMALL_N, bytes: undefined },
];

const results = [];
for (const { label, n, bytes } of pairs) {
  // Warm both before either is measured, then alternate rounds so drift hits both alike.
  measureSync(Math.max(20, n / 10), () => raw(bytes));
  measureSync(Math.max(20, n / 10), () => library(bytes));
  const rounds = { raw: [], library: [] };
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    rounds.raw.push(measureSync(n, () => raw(bytes)));
    globalThis.gc?.();
    rounds.library.push(measureSync(n, () => library(bytes)));
  }
  const median = (runs) => [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)];
  const floor = median(rounds.raw);
  const measured = median(rounds.library);
  results.push({ scenario: `raw sha256 + Ed25519 verify`, input: label, ...floor, perSecondRounds: rounds.raw.map((r) => r.perSecond) });
  results.push({
    scenario: 'verifyPluginEnvelope',
    input: label,
    ...measured,
    perSecondRounds: rounds.library.map((r) => r.perSecond),
    timeVsRaw: Number((floor.perSecond / measured.perSecond).toFixed(3)),
  });
}

printTable(
  ['scenario', 'input', 'verifications/s', 'p50 µs', 'p99 µs', 'time × raw'],
  results.map((r) => [r.scenario, r.input, r.perSecond, r.p50Us, r.p99Us, r.timeVsRaw ?? 1]),
);
const big = results.find((r) => r.scenario === 'verifyPluginEnvelope' && r.input.includes('MiB'));
console.log(`\ntarget: verifyPluginEnvelope within 1.2× of raw for the ${args['size-mib']} MiB plugin: ${big.timeVsRaw <= 1.2 ? 'met' : 'NOT met'} (${big.timeVsRaw}×)`);
await writeResults('signature-verify', { sizeBytes: SIZE, rounds: ROUNDS, results }, signatureVerifyReport(results));
