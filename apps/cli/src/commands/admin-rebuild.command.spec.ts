import type { RebuildStatus } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { renderRebuild } from './admin-rebuild.command.js';

// Nothing listens on this NATS: every refusal here must come before a connection is tried.
const env = { NATS_URL: 'nats://127.0.0.1:9', FORGEONE_TOKEN: 'fo_x_y' };

describe('forgeone admin rebuild - usage', () => {
  it('usage - bad options are refused before anything is sent, saying what is wrong', async () => {
    expect(await runCli(['admin', 'rebuild', '--swap', '--status', 'rb_20261207t031500_a1b2c3'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --status follows a rebuild already started; --swap only applies when starting one (COMMAND.INVALID)\n',
    });
    const poll = await runCli(['admin', 'rebuild', '--poll-ms', '5'], env);
    expect(poll.code).toBe(2);
    expect(poll.stderr).toContain('--poll-ms must be a whole number of milliseconds from 50 to 60000, got "5"');
    const unknown = await runCli(['admin', 'rebuild', '--force'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--force'");
  });

  it('usage - without NATS_URL it says which NATS it needs', async () => {
    const result = await runCli(['admin', 'rebuild', '--json'], { FORGEONE_TOKEN: 'fo_x_y' });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'COMMAND.INVALID', message: expect.stringContaining('NATS_URL is not set') } });
  });
});

describe('forgeone admin rebuild - report', () => {
  const base: RebuildStatus = {
    rebuildId: 'rb_20261207t031500_a1b2c3',
    phase: 'done',
    swapRequested: true,
    schema: 'rebuild_20261207t031500_a1b2c3',
    startedAt: '2026-12-07T03:15:00.000Z',
    finishedAt: '2026-12-07T03:15:09.000Z',
    progress: { sequence: 42, target: 42 },
    comparison: {
      equal: false,
      liveSchema: 'public',
      rebuiltSchema: 'rebuild_20261207t031500_a1b2c3',
      sequence: { live: 42, rebuilt: 42 },
      auditTip: { live: { sequence: 42, hash: 'a'.repeat(64) }, rebuilt: { sequence: 42, hash: 'a'.repeat(64) } },
      tables: [
        { table: 'audit_log', equal: true, excludedColumns: ['recorded_at'], live: { rows: 42, digest: 'x' }, rebuilt: { rows: 42, digest: 'x' }, differences: [] },
        {
          table: 'installations',
          equal: false,
          excludedColumns: [],
          live: { rows: 2, digest: 'y' },
          rebuilt: { rows: 2, digest: 'z' },
          differences: ['row only live: tenant="acme", name="acme/hello", environment="staging"'],
        },
      ],
    },
    swap: { swapped: false, previousSchema: null, recreatedViews: [], reason: 'swap refused: the rebuilt projections differ from the live ones in installations' },
    schemaKept: true,
    error: null,
  };

  it('report - every table, each difference, why the swap was refused and which schema is left to drop', () => {
    const text = renderRebuild(base);
    expect(text).toMatch(/^installations\s+2\s+2\s+DIFFERENT\s+-$/m);
    expect(text).toMatch(/^audit_log\s+42\s+42\s+equal\s+recorded_at$/m);
    expect(text).toContain('installations:\n  - row only live: tenant="acme", name="acme/hello", environment="staging"');
    expect(text).toContain('swap refused: the rebuilt projections differ from the live ones in installations');
    expect(text).toContain('the rebuilt schema is kept as rebuild_20261207t031500_a1b2c3 for inspection');
  });

  it('report - a swap names the schema kept for the operator to drop', () => {
    const text = renderRebuild({
      ...base,
      comparison: { ...base.comparison!, equal: true, tables: [base.comparison!.tables[0]] },
      swap: { swapped: true, previousSchema: 'previous_20261207t031500_a1b2c3', recreatedViews: ['reporting.plugin_calls_daily_v1'], reason: null },
    });
    expect(text).toContain('the rebuilt projections equal the live ones');
    expect(text).toContain('swapped: rebuild_20261207t031500_a1b2c3 is live now; views re-pointed: reporting.plugin_calls_daily_v1');
    expect(text).toContain('DROP SCHEMA previous_20261207t031500_a1b2c3 CASCADE');
  });
});
