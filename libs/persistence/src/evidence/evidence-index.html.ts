import type { EvidenceFramework } from '@forgeone/contracts';
import type { AuditCheckpoint } from '../queries/transparency-log.queries.js';
import type { EvidenceControl, EvidenceQueryId } from './control-map.js';

/** What index.html says of one query. */
export interface QuerySummary {
  readonly id: EvidenceQueryId;
  readonly title: string;
  readonly exception: boolean;
  readonly rows: number;
  readonly truncated: boolean;
  readonly rowsSha256: string;
  readonly sampled: number;
  readonly columns: readonly string[];
  /** The first rows of an exception query. */
  readonly shown: readonly Record<string, unknown>[];
}

const FRAMEWORK_NAMES: Record<EvidenceFramework, string> = { soc2: 'SOC 2 (Trust Services Criteria)', iso27001: 'ISO/IEC 27001:2022 Annex A', gdpr: 'GDPR' };

const escape = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const cell = (v: unknown) => escape(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);

/** The page a person reads first: period, checkpoint, a summary per control with its exceptions highlighted. */
export function evidenceIndexHtml(input: {
  framework: EvidenceFramework;
  tenant: string;
  from: string;
  before: string;
  generatedAt: string;
  exportedBy: string;
  checkpoint: AuditCheckpoint;
  controls: readonly EvidenceControl[];
  queries: ReadonlyMap<EvidenceQueryId, QuerySummary>;
  record: unknown;
}): string {
  const q = (id: EvidenceQueryId) => input.queries.get(id)!;
  const link = (id: EvidenceQueryId) => `<a href="queries/${id}/rows.csv">${id}</a>`;
  const controlRows = input.controls
    .map((c) => {
      const exceptions = c.exceptions.reduce((sum, id) => sum + q(id).rows, 0);
      return `<tr class="${exceptions > 0 ? 'exc' : ''}"><td><b>${escape(c.id)}</b>${c.aliases.length ? `<br><small>2013: ${escape(c.aliases.join(', '))}</small>` : ''}</td><td>${escape(c.title)}</td>
<td>${c.queries.map((id) => `${link(id)}: ${q(id).rows} rows${q(id).truncated ? ' (truncated)' : ''}`).join('<br>')}</td>
<td>${c.exceptions.length ? c.exceptions.map((id) => `${link(id)}: <span class="${q(id).rows > 0 ? 'count-exc' : ''}">${q(id).rows}</span>`).join('<br>') : '—'}</td></tr>`;
    })
    .join('\n');
  const exceptionSections = [...input.queries.values()]
    .filter((s) => s.exception && s.rows > 0)
    .map(
      (s) => `<section class="exc"><h3>${escape(s.id)}: ${s.rows} exception rows</h3><p>${escape(s.title)}</p>
<table><tr>${s.columns.map((c) => `<th>${escape(c)}</th>`).join('')}</tr>
${s.shown.map((r) => `<tr>${s.columns.map((c) => `<td>${cell(r[c])}</td>`).join('')}</tr>`).join('\n')}</table>
${s.rows > s.shown.length ? `<p>… and ${s.rows - s.shown.length} more in <a href="queries/${s.id}/rows.csv">rows.csv</a></p>` : ''}</section>`,
    )
    .join('\n');
  const queryRows = [...input.queries.values()]
    .map((s) => `<tr class="${s.exception && s.rows > 0 ? 'exc' : ''}"><td>${link(s.id)}</td><td>${escape(s.title)}</td><td>${s.rows}</td><td>${s.sampled}</td><td><code>${s.rowsSha256}</code></td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence: ${escape(FRAMEWORK_NAMES[input.framework])}, tenant ${escape(input.tenant)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
tr.exc td{background:#fff4e5}.count-exc{color:#b00;font-weight:bold}section.exc{border-left:4px solid #b00;padding-left:1em}code{font-size:.85em}</style></head>
<body>
<h1>Evidence export: ${escape(FRAMEWORK_NAMES[input.framework])}</h1>
<table>
<tr><th>Tenant</th><td>${escape(input.tenant)}</td></tr>
<tr><th>Period</th><td>${escape(input.from)} up to (not including) ${escape(input.before)}</td></tr>
<tr><th>Generated</th><td>${escape(input.generatedAt)} for ${escape(input.exportedBy)}</td></tr>
<tr><th>Checkpoint</th><td>tree size ${input.checkpoint.treeSize}, root <code>${escape(input.checkpoint.rootHash)}</code>, signed ${escape(input.checkpoint.signedAt)} by audit key <code>${escape(input.checkpoint.keyId)}</code> (${escape(input.checkpoint.origin)})</td></tr>
</table>
<p>Every file is listed with its sha256 in <code>manifest.json</code>, signed with the audit key in <code>manifest.dsse.json</code>. Check it all offline with
<code>forgeone audit verify-export &lt;this folder&gt; --key audit-key.pem</code>. Each query's sample rows carry inclusion proofs against the checkpoint (<code>queries/&lt;query&gt;/sample.json</code>).</p>
<h2>Controls</h2>
<table><tr><th>Control</th><th>What it asks</th><th>Population</th><th>Exceptions</th></tr>
${controlRows}
</table>
<h2>Exceptions</h2>
${exceptionSections || '<p>No exception rows in the period.</p>'}
<h2>Queries</h2>
<table><tr><th>Query</th><th>What it selects</th><th>Rows</th><th>Sampled (proven)</th><th>sha256 of rows.jsonl</th></tr>
${queryRows}
</table>
${input.record ? `<h2>Record of processing (GDPR Art. 30)</h2><p>See <a href="record-of-processing.json">record-of-processing.json</a>.</p>` : ''}
</body></html>
`;
}
