import { createHash } from 'node:crypto';
import {
  canonicalJson,
  EVIDENCE_MANIFEST_FORMAT,
  ForgeOneError,
  type EvidenceExportLine,
  type EvidenceFile,
  type EvidenceFramework,
  type EvidenceManifest,
} from '@forgeone/contracts';
import { stringify } from 'csv-stringify/sync';
import type { DataSource } from 'typeorm';
import { auditCheckpoint, auditInclusionProof, type AuditCheckpoint } from '../queries/transparency-log.queries.js';
import { CONTROL_MAP, EVIDENCE_QUERIES, queriesOf, type EvidenceQueryId } from './control-map.js';
import { evidenceIndexHtml, type QuerySummary } from './evidence-index.html.js';
import { recordOfProcessing } from './record-of-processing.js';

/** Where an export's lines go; `write` resolves when the reader is ready for more (backpressure). */
export interface EvidenceSink {
  write(line: EvidenceExportLine): Promise<void>;
}

export interface EvidenceExportInput {
  readonly framework: EvidenceFramework;
  readonly tenant: string;
  readonly from: Date;
  /** Exclusive end of the period. */
  readonly before: Date;
  readonly exportedBy: string;
  readonly now: Date;
  /** Rows read per query of a page (keyset on stream sequence). */
  readonly pageRows?: number;
  /** Rows drawn per query into the sample proven against the checkpoint. */
  readonly sampleRows?: number;
}

/** At most this many rows of a query without a stream sequence (platform-wide rows: checkpoints, lost windows). */
export const UNPAGED_MAX_ROWS = 100_000;
/** Rows of each exception query shown in index.html (every row is in its files). */
const SHOWN_EXCEPTIONS = 20;
// Chunks of a file are sent once this many characters are pending.
const CHUNK_CHARS = 256 * 1024;

/** One file being written: chunks go to the sink, its sha256 and size are computed as they pass. */
class EvidenceFileWriter {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private pending: string[] = [];
  private pendingChars = 0;

  constructor(
    readonly path: string,
    private readonly sink: EvidenceSink,
  ) {}

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= CHUNK_CHARS) await this.send();
  }

  private async send(): Promise<void> {
    if (this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    this.hash.update(data, 'utf8');
    this.bytes += Buffer.byteLength(data, 'utf8');
    await this.sink.write({ kind: 'file', path: this.path, data });
  }

  async close(): Promise<EvidenceFile> {
    await this.send();
    // A file with no bytes still exists: the reader creates it on its first (empty) chunk.
    if (this.bytes === 0) await this.sink.write({ kind: 'file', path: this.path, data: '' });
    return { path: this.path, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** A deterministic reservoir sample (algorithm R): the same rows for the same query and period. */
class Reservoir<T> {
  readonly items: T[] = [];
  seen = 0;
  constructor(
    private readonly size: number,
    private readonly seed: string,
  ) {}

  offer(item: T): void {
    this.seen += 1;
    if (this.items.length < this.size) {
      this.items.push(item);
      return;
    }
    const bytes = createHash('sha256').update(`${this.seed}:${this.seen}`).digest();
    const j = Math.floor((bytes.readUIntBE(0, 6) / 2 ** 48) * this.seen);
    if (j < this.size) this.items[j] = item;
  }
}

type Row = Record<string, unknown>;

// bigint columns come back as strings: numbers where they fit; times as ISO strings.
function normalise(row: Row): Row {
  const out: Row = {};
  for (const [c, v] of Object.entries(row)) {
    if (v instanceof Date) out[c] = v.toISOString();
    else if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && c !== 'token_id' && c !== 'key_id') out[c] = Number(v);
    else out[c] = v === undefined ? null : v;
  }
  return out;
}

const csvCell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean));

/** The query's SQL with its parameters renumbered to those it uses, and their values. */
function bind(sql: string, values: readonly unknown[]): { sql: string; params: unknown[] } {
  const used = [...new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  const renumber = new Map(used.map((n, i) => [n, i + 1]));
  return { sql: sql.replace(/\$(\d+)/g, (_m, n: string) => `$${renumber.get(Number(n))}`), params: used.map((n) => values[n - 1]) };
}

/**
 * Streams an evidence export of one tenant, framework and period to `sink` as file chunks, reading
 * each query of the control map in pages (keyset on stream sequence), so memory stays flat however
 * many rows there are. Answers the manifest (canonical JSON, unsigned) listing every file written;
 * the caller has it signed and sends the `done` line. Refuses before anything is written when the
 * audit log has no signed checkpoint yet (samples are proven against one).
 */
export async function writeEvidenceExport(ds: DataSource, input: EvidenceExportInput, sink: EvidenceSink): Promise<{ manifest: string; checkpoint: AuditCheckpoint }> {
  const checkpoint = await auditCheckpoint(ds.manager);
  if (!checkpoint) throw new ForgeOneError('QUERY.NOT_FOUND', 'the audit log has no signed checkpoint yet, so no sample could be proven: the audit-projector signs one after its first events; try again shortly');
  const [last]: { sequence: string }[] = await ds.query(`SELECT sequence FROM audit_log WHERE leaf_index = $1`, [checkpoint.treeSize - 1]);
  const provenThrough = Number(last?.sequence ?? 0);
  const pageRows = input.pageRows ?? 5_000;
  const sampleRows = input.sampleRows ?? 25;
  const period = { from: input.from.toISOString(), before: input.before.toISOString() };
  await sink.write({
    kind: 'start',
    framework: input.framework,
    tenant: input.tenant,
    ...period,
    checkpoint: { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, origin: checkpoint.origin, keyId: checkpoint.keyId, note: checkpoint.note },
  });
  const files: EvidenceFile[] = [];
  const whole = async (path: string, text: string) => {
    const file = new EvidenceFileWriter(path, sink);
    await file.write(text);
    files.push(await file.close());
  };
  await whole('checkpoint.json', `${JSON.stringify({ ...checkpoint, provenThroughSequence: provenThrough }, null, 2)}\n`);

  const summaries = new Map<EvidenceQueryId, QuerySummary>();
  for (const id of queriesOf(input.framework)) {
    const query = EVIDENCE_QUERIES[id];
    const { sql, params } = bind(query.sql, [input.tenant, period.from, period.before]);
    const csv = new EvidenceFileWriter(`queries/${id}/rows.csv`, sink);
    const jsonl = new EvidenceFileWriter(`queries/${id}/rows.jsonl`, sink);
    const rowsHash = createHash('sha256');
    const reservoir = new Reservoir<Row>(sampleRows, `${id}:${input.tenant}:${period.from}:${period.before}`);
    const shown: Row[] = [];
    let columns: string[] | undefined;
    let count = 0;
    let truncated = false;
    const take = async (rows: Row[]) => {
      if (rows.length === 0) return;
      const normal = rows.map(normalise);
      if (!columns) {
        columns = Object.keys(normal[0]!);
        await csv.write(stringify([columns]));
      }
      await csv.write(stringify(normal.map((r) => columns!.map((c) => csvCell(r[c])))));
      const lines = normal.map((r) => `${JSON.stringify(r)}\n`).join('');
      rowsHash.update(lines, 'utf8');
      await jsonl.write(lines);
      for (const r of normal) {
        count += 1;
        if (query.exception && shown.length < SHOWN_EXCEPTIONS) shown.push(r);
        if (query.perTenant && typeof r['sequence'] === 'number' && r['sequence'] <= provenThrough) reservoir.offer(r);
      }
      await sink.write({ kind: 'progress', query: id, rows: count });
    };
    const paged = /^SELECT sequence\b/.test(query.sql);
    if (paged) {
      let after = 0;
      for (;;) {
        const rows: Row[] = await ds.query(`SELECT * FROM (${sql}) q WHERE q.sequence > $${params.length + 1} ORDER BY q.sequence LIMIT ${pageRows}`, [...params, after]);
        await take(rows);
        if (rows.length < pageRows) break;
        after = Number(rows.at(-1)!['sequence']);
      }
    } else {
      const rows: Row[] = await ds.query(`${sql} ORDER BY 1 LIMIT ${UNPAGED_MAX_ROWS + 1}`, params);
      truncated = rows.length > UNPAGED_MAX_ROWS;
      await take(rows.slice(0, UNPAGED_MAX_ROWS));
    }
    if (!columns) await csv.write('');
    files.push(await csv.close(), await jsonl.close());

    // Each sampled row with its inclusion proof in the checkpoint (rows after it are not sampled).
    const sample = [];
    for (const row of reservoir.items.sort((a, b) => (a['sequence'] as number) - (b['sequence'] as number))) {
      const proof = await auditInclusionProof(ds, { tenant: input.tenant, sequence: row['sequence'] as number, treeSize: checkpoint.treeSize });
      sample.push({ row, proof: { sequence: proof.sequence, leaf: proof.leaf, leafHash: proof.leafHash, leafIndex: proof.leafIndex, treeSize: proof.treeSize, path: proof.path } });
    }
    const population = {
      query: id,
      title: query.title,
      exception: query.exception,
      sql: query.sql,
      parameters: { $1: input.tenant, $2: period.from, $3: period.before },
      columns: columns ?? [],
      rows: count,
      truncated,
      // sha256 of rows.jsonl: the rows as JSON, one a line, in stream order.
      rowsSha256: rowsHash.digest('hex'),
    };
    await whole(`queries/${id}/population.json`, `${JSON.stringify(population, null, 2)}\n`);
    const sampleDoc = {
      query: id,
      method: query.perTenant
        ? `reservoir sample (algorithm R) of at most ${sampleRows} rows among the ${reservoir.seen} at or before stream sequence ${provenThrough} (the checkpoint's last row), seeded by the query, tenant and period`
        : 'no sample: these rows belong to no tenant\'s audit log',
      checkpointTreeSize: checkpoint.treeSize,
      eligibleRows: reservoir.seen,
      rows: sample,
    };
    await whole(`queries/${id}/sample.json`, `${JSON.stringify(sampleDoc, null, 2)}\n`);
    summaries.set(id, { id, title: query.title, exception: query.exception, rows: count, truncated, rowsSha256: population.rowsSha256, sampled: sample.length, columns: columns ?? [], shown });
  }

  const controls = CONTROL_MAP[input.framework].map((c) => ({
    id: c.id,
    aliases: c.aliases,
    title: c.title,
    queries: c.queries.map((q) => ({ query: q, rows: summaries.get(q)!.rows })),
    exceptions: c.exceptions.map((q) => ({ query: q, rows: summaries.get(q)!.rows })),
  }));
  await whole('controls.json', `${JSON.stringify({ framework: input.framework, controls }, null, 2)}\n`);
  const record = input.framework === 'gdpr' ? await recordOfProcessing(ds, input.tenant, input.now) : undefined;
  if (record) await whole('record-of-processing.json', `${JSON.stringify(record, null, 2)}\n`);
  await whole(
    'index.html',
    evidenceIndexHtml({ framework: input.framework, tenant: input.tenant, ...period, generatedAt: input.now.toISOString(), exportedBy: input.exportedBy, checkpoint, controls: CONTROL_MAP[input.framework], queries: summaries, record }),
  );

  const manifest: EvidenceManifest = {
    format: EVIDENCE_MANIFEST_FORMAT,
    framework: input.framework,
    tenant: input.tenant,
    ...period,
    generatedAt: input.now.toISOString(),
    exportedBy: input.exportedBy,
    checkpoint: { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, origin: checkpoint.origin, keyId: checkpoint.keyId },
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  return { manifest: canonicalJson(manifest), checkpoint };
}
