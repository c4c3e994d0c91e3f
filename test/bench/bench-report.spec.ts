// bench/README.md's results table is generated from the committed bench/results/*.json by
// bench/report.mjs: the committed table must be exactly what the command makes of them, and the
// check must notice a table or a result that changed on its own.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const report = join(root, 'bench', 'report.mjs');

function check(args: string[] = []): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync(process.execPath, [report, '--check', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const failed = error as { status: number; stderr: string };
    return { code: failed.status, output: failed.stderr };
  }
}

describe('bench report', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-bench-report-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('bench report - the README table is what node bench/report.mjs makes of the committed results', () => {
    expect(check()).toMatchObject({ code: 0 });
  });

  it('bench report - every bench has a committed result with report rows, and every row is in the table', () => {
    const benches = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.mjs')).map((f) => f.replace('.bench.mjs', ''));
    const readme = readFileSync(join(root, 'bench', 'README.md'), 'utf8');
    for (const bench of benches) {
      const result = JSON.parse(readFileSync(join(root, 'bench', 'results', `${bench}.json`), 'utf8')) as { report: { what: string }[]; machine: { cpus: number } };
      expect(result.report.length, bench).toBeGreaterThan(0);
      expect(result.machine.cpus, bench).toBeGreaterThan(0);
      for (const row of result.report) expect(readme, `${bench}: ${row.what}`).toContain(`| ${bench} | ${row.what.replaceAll('|', '\\|')} |`);
    }
  });

  it('bench report - a hand-edited table is caught', () => {
    const readme = join(work, 'README.md');
    writeFileSync(readme, readFileSync(join(root, 'bench', 'README.md'), 'utf8').replace('| met |', '| **met** |'));
    const result = check(['--readme', readme]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('differs from what');
  });

  it('bench report - a result changed without regenerating the table is caught', () => {
    const results = join(work, 'results');
    cpSync(join(root, 'bench', 'results'), results, { recursive: true });
    const file = join(results, 'signature-verify.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { report: { ratio: number }[] };
    doc.report[0].ratio += 1;
    writeFileSync(file, JSON.stringify(doc));
    expect(check(['--results', results]).code).toBe(1);
  });
});
