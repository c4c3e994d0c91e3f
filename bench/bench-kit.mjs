// Shared by the benchmarks: latency statistics, sequential and concurrent measurement loops,
// readiness waits, a plain-text table, the JSON result file in bench/results/, and the command line.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Leaves with status 2 and what to run when a build output the benchmark loads (a path from the repository root) is missing. */
export function requireBuilt(paths) {
  for (const built of paths) {
    if (!existsSync(join(repoRoot, built))) {
      console.error(`Not built: ${built} missing. Run \`npm run build\` first.`);
      process.exit(2);
    }
  }
}

/**
 * The benchmark's numeric options (`--n 2000`), each `defaults[name]` when not given, and the options named in
 * `text` as given (a path, say; absent when not given); an option named in neither is refused.
 */
export function numericArgs(defaults, text = []) {
  const options = Object.fromEntries([
    ...Object.entries(defaults).map(([name, value]) => [name, { type: 'string', default: String(value) }]),
    ...text.map((name) => [name, { type: 'string' }]),
  ]);
  const { values } = parseArgs({ options });
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, text.includes(name) ? value : Number(value)]));
}

/** p50/p99 in µs of values already in µs. */
export function percentiles(valuesUs) {
  const sorted = Float64Array.from(valuesUs).sort();
  const at = (q) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1));
  return { p50Us: at(0.5), p99Us: at(0.99) };
}

/** Count, rate and p50/p99 (µs) of per-call latencies in ns over a run that took `elapsedNs`. */
export function latencyStats(latenciesNs, elapsedNs) {
  return {
    n: latenciesNs.length,
    perSecond: Math.round((latenciesNs.length / Number(elapsedNs)) * 1e9),
    ...percentiles(latenciesNs.map((ns) => ns / 1_000)),
  };
}

/** Runs `fn` n times in a row: each run's latency in ns and the elapsed time of all of them. */
export function sampleSync(n, fn) {
  const latenciesNs = new Array(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    latenciesNs[i] = Number(process.hrtime.bigint() - t);
  }
  return { latenciesNs, elapsedNs: process.hrtime.bigint() - start };
}

export function measureSync(n, fn) {
  const { latenciesNs, elapsedNs } = sampleSync(n, fn);
  return latencyStats(latenciesNs, elapsedNs);
}

/** `n` calls of `fn` spread over `concurrency` loops that each wait for their previous call. */
export async function measureAsync(n, concurrency, fn) {
  const { latenciesNs, elapsedNs } = await sampleAsync(n, concurrency, fn);
  return latencyStats(latenciesNs, elapsedNs);
}

/** Like {@link measureAsync}, but answers the raw per-call latencies (ns) and the elapsed time, to pool several batches. */
export async function sampleAsync(n, concurrency, fn) {
  const latenciesNs = [];
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t = process.hrtime.bigint();
        await fn();
        latenciesNs.push(Number(process.hrtime.bigint() - t));
      }
    }),
  );
  return { latenciesNs, elapsedNs: process.hrtime.bigint() - start };
}

/**
 * Measures several variants under the same conditions: `rounds` rounds, each running a batch of
 * `n / rounds` calls of every variant (the order rotating from round to round), pooled per
 * variant. A drift in machine load then lands on every variant alike instead of on whichever ran last.
 */
export async function measureInterleaved(variants, { n, concurrency, rounds }) {
  const pooled = variants.map(() => ({ latenciesNs: [], elapsedNs: 0n }));
  const batch = Math.max(1, Math.floor(n / rounds));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      const { latenciesNs, elapsedNs } = await sampleAsync(batch, concurrency, variants[i]);
      pooled[i].latenciesNs.push(...latenciesNs);
      pooled[i].elapsedNs += elapsedNs;
    }
  }
  return pooled.map((p) => latencyStats(p.latenciesNs, p.elapsedNs));
}

/** Polls `probe` until it answers truthy; `exited()` returning a reason aborts at once. */
export async function waitFor(what, probe, exited = () => undefined, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = exited();
    if (failure) throw new Error(`${what} ${failure}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not get ready in ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Prints a table: the first two columns left-aligned, the rest right-aligned; undefined shows as '-'. */
export function printTable(header, rows) {
  const table = [header, ...rows.map((row) => row.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, j) => (j < 2 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** The machine a result was measured on: what a reader needs to judge the numbers beside them. */
export function machineFacts() {
  const cores = cpus();
  return { node: process.version, cpus: cores.length, cpuModel: cores[0]?.model?.trim() ?? 'unknown', loadavg: loadavg().map((l) => Number(l.toFixed(2))) };
}

/**
 * Writes bench/results/<name>.json: the machine and time, `report` (the rows bench/report.mjs puts in
 * bench/README.md's table) and the bench's own detail. Each report row is
 * `{ what, baseline, measured, ratio, target, met }`: `baseline` and `measured` are short texts with units,
 * `ratio` is measured over the baseline measured in the same run, `target` a text or null when none is
 * set, and `met` true, false or null (no target).
 */
export async function writeResults(name, data, report) {
  const out = join(repoRoot, 'bench', 'results', `${name}.json`);
  await mkdir(dirname(out), { recursive: true });
  for (const row of report) {
    for (const key of ['what', 'baseline', 'measured', 'ratio', 'target', 'met']) {
      if (!(key in row)) throw new Error(`report row "${row.what}" of ${name} has no ${key}`);
    }
  }
  const doc = { benchmark: name, at: new Date().toISOString(), machine: machineFacts(), report, ...data };
  await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  return out;
}

/** A number rounded for a report cell: 3 significant digits, at most 2 decimals. */
export const sig3 = (value) => Number(Number(value).toPrecision(3));

/** A NATS URL without credentials, for result files. */
export const redactNatsUrl = (url) => url.replace(/\/\/[^@]*@/, '//');

/**
 * Runs `cleanup` before the process leaves on Ctrl-C or SIGTERM (a timeout's), which would otherwise skip
 * the benchmark's `finally` blocks and leave streams, databases or child processes behind.
 */
export function cleanUpOnInterrupt(cleanup) {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up before leaving`);
      void Promise.resolve()
        .then(cleanup)
        .catch((error) => console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => process.exit(code));
    });
  }
}

/**
 * Builds a large, valid audit log for the audit benchmarks without the projector (which applies every
 * projection to every event): `rows` events from `event(i)`, each the next audit row, hashed with the
 * same functions the projector uses (auditHash, auditEventDigest, auditLeafHash, RFC 6962 nodes), and
 * inserted with every Merkle node it completes in statements of a few thousand rows. After every
 * `checkpointEvery` rows (and after the last) a checkpoint of the tree so far is signed with
 * `privateKey`, appended as the next row and recorded in audit_checkpoints, as the audit projector does.
 * `ds` needs a pool of `inserts` + 1 connections for the inserts to overlap.
 * With `publish` (an async (sequence, event) => stream sequence), every event is first published to the
 * event stream, so rows can be compared with JetStream at the same sequences.
 */
export async function buildAuditLog({ ds, rows, event, checkpointEvery = rows, origin, publicKey, privateKey, publish, chunk = 5000, inserts = 3 }) {
  const { sign, randomUUID } = await import('node:crypto');
  const { auditHash, auditEventDigest, auditLeafHash, pluginOf, GENESIS_HASH } = await import('@forgeone/persistence');
  const { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES, AUDIT_CHECKPOINT_ID, cloudEvent } = await import('@forgeone/contracts');
  const { checkpointText, keyIdOf, nodeHash, signNote } = await import('@forgeone/signing');
  const started = performance.now();
  const frontier = [];
  const tenants = new Map();
  let prevHash = GENESIS_HASH;
  let sequence = 0;
  let pending = { rows: [], nodes: { levels: [], indexes: [], hashes: [] } };
  const inserting = new Set();
  // Publishes in flight, at most a thousand: each answers the stream sequence it was stored at.
  let inflight = [];
  const settlePublished = async () => {
    const stored = await Promise.all(inflight.map(({ stored }) => stored));
    const wrong = inflight.findIndex(({ sequence }, i) => stored[i] !== sequence);
    if (wrong >= 0) throw new Error(`the event stream was not empty: the event of sequence ${inflight[wrong].sequence} was stored at ${stored[wrong]}`);
    inflight = [];
  };

  const rootHex = () => {
    let acc = frontier[frontier.length - 1].hash;
    for (let i = frontier.length - 2; i >= 0; i -= 1) acc = nodeHash(frontier[i].hash, acc);
    return acc.toString('hex');
  };
  const append = (ev) => {
    sequence += 1;
    if (publish) inflight.push({ sequence, stored: publish(sequence, ev) });
    const leafIndex = sequence - 1;
    const tenantSequence = (tenants.get(ev.tenant) ?? 0) + 1;
    tenants.set(ev.tenant, tenantSequence);
    const hash = auditHash(prevHash, sequence, ev);
    const leafHex = auditLeafHash({ sequence, eventId: ev.id, subject: ev.subject, tenant: ev.tenant, tenantSequence, digest: auditEventDigest(ev) });
    pending.rows.push([sequence, ev.id, ev.specversion, ev.type, ev.source, ev.subject, ev.time, ev.time, ev.datacontenttype, ev.schemaversion, ev.actor, ev.tenant, pluginOf(ev), JSON.stringify(ev.data ?? null), ev.traceparent ?? null, prevHash, hash, leafIndex, tenantSequence, leafHex]);
    // The leaf and every complete subtree it closes, as audit_merkle_nodes holds them.
    let node = { level: 0, index: leafIndex, hash: Buffer.from(leafHex, 'hex') };
    const keep = (n) => {
      pending.nodes.levels.push(n.level);
      pending.nodes.indexes.push(n.index);
      pending.nodes.hashes.push(n.hash.toString('hex'));
    };
    keep(node);
    while (frontier.length && frontier[frontier.length - 1].level === node.level) {
      const left = frontier.pop();
      node = { level: node.level + 1, index: leafIndex >> (node.level + 1), hash: nodeHash(left.hash, node.hash) };
      keep(node);
    }
    frontier.push(node);
    prevHash = hash;
  };
  const flush = async () => {
    await settlePublished();
    const { rows: batch, nodes } = pending;
    pending = { rows: [], nodes: { levels: [], indexes: [], hashes: [] } };
    // Up to `inserts` statements in flight on their own connections while the next rows are hashed (rows need no order).
    while (inserting.size >= inserts) await Promise.race(inserting);
    const columns = (c) => batch.map((r) => r[c]);
    const insert = (async () => {
      await ds.query(
        `INSERT INTO audit_log (sequence, event_id, spec_version, type, source, subject, event_time, occurred_at, data_content_type, schema_version, actor, tenant, plugin, data, traceparent, prev_hash, hash, leaf_index, tenant_sequence, leaf_hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[], $17::text[], $18::bigint[], $19::bigint[], $20::text[])`,
        Array.from({ length: 20 }, (_, c) => columns(c)),
      );
      await ds.query(`INSERT INTO audit_merkle_nodes (level, index, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::text[])`, [nodes.levels, nodes.indexes, nodes.hashes]);
    })();
    inserting.add(insert);
    insert.then(() => inserting.delete(insert), () => undefined);
  };
  const inserted = async () => {
    await flush();
    await Promise.all(inserting);
  };
  const checkpoint = async () => {
    const treeSize = sequence;
    const rootHash = rootHex();
    const signedAt = new Date().toISOString();
    const note = await signNote(checkpointText({ origin, treeSize, rootHash: Buffer.from(rootHash, 'hex'), extensions: [`time ${signedAt}`] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
    const data = { origin, treeSize, rootHash, keyId: keyIdOf(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), note, signedAt };
    append(cloudEvent(AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_ID, { id: randomUUID(), type: AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, data, time: signedAt, actor: 'service.audit-projector', tenant: 'default' }));
    await inserted();
    await ds.query(`INSERT INTO audit_checkpoints (tree_size, root_hash, origin, key_id, public_key, note, signed_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [treeSize, rootHash, origin, data.keyId, data.publicKey, note, signedAt, sequence]);
  };

  let written = 0;
  let sinceCheckpoint = 0;
  while (written < rows) {
    append(event(written));
    written += 1;
    sinceCheckpoint += 1;
    if (inflight.length >= 1000) await settlePublished();
    if (pending.rows.length >= chunk) await flush();
    if (sinceCheckpoint === checkpointEvery || written === rows) {
      await checkpoint();
      sinceCheckpoint = 0;
    }
    if (written % 100_000 === 0) console.error(`built ${written} of ${rows} rows (${Math.round(written / ((performance.now() - started) / 1000))}/s)`);
  }
  await inserted();
  const seconds = (performance.now() - started) / 1000;
  console.error(`log built: ${sequence} rows including checkpoints, in ${Math.round(seconds)} s`);
  return { rows: sequence, seconds };
}
