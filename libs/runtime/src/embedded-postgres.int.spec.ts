import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from './embedded-postgres.js';
import { isTcpPortOpen } from './tcp-port.util.js';

describe('startPostgres', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forgeone-pg-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('startPostgres - embedded cluster: select 1, no lost updates under 20 concurrent transactions, data kept across restarts', async () => {
    const first = await startPostgres({ dataDir });
    const port = Number(new URL(first.url).port);
    try {
      expect(first.managed).toBe(true);
      expect(first.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/forgeone$/);
      expect((await stat(join(dataDir, 'postgres.password'))).mode & 0o777).toBe(0o600);

      const pool = new pg.Pool({ connectionString: first.url, max: 20 });
      // pool.end() resolves before its sessions have closed; one still open when the server stops
      // gets "terminating connection", which the pool re-emits as an error event.
      pool.on('error', () => undefined);
      try {
        expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
        expect((await pool.query('select current_database() as db')).rows[0].db).toBe('forgeone');
        await pool.query('create table counter (id int primary key, n int not null)');
        await pool.query('insert into counter values (1, 0)');
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            const client = await pool.connect();
            try {
              await client.query('begin');
              await client.query('update counter set n = n + 1 where id = 1');
              // Hold the row lock a moment so the transactions really overlap.
              await client.query('select pg_sleep(0.02)');
              await client.query('commit');
            } finally {
              client.release();
            }
          }),
        );
        expect((await pool.query('select n from counter where id = 1')).rows[0].n).toBe(20);
      } finally {
        await pool.end();
      }
    } finally {
      await first.stop();
    }
    expect(await isTcpPortOpen('127.0.0.1', port)).toBe(false);

    // A second start reuses the initialised cluster and its password.
    const second = await startPostgres({ dataDir });
    try {
      const client = new pg.Client({ connectionString: second.url });
      await client.connect();
      try {
        expect((await client.query('select n from counter where id = 1')).rows[0].n).toBe(20);
      } finally {
        await client.end();
      }
    } finally {
      await second.stop();
    }
  });

  it('startPostgres - uses a given URL after checking it answers', async () => {
    const given = await startPostgres({ dataDir, url: 'postgres://postgres@127.0.0.1:5432/test' });
    expect(given).toMatchObject({ url: 'postgres://postgres@127.0.0.1:5432/test', managed: false });
    await given.stop();
  });

  it('startPostgres - a URL nobody answers on is refused without showing the password', async () => {
    const attempt = startPostgres({ dataDir, url: 'postgres://forgeone:hunter2@127.0.0.1:1/forgeone' });
    await expect(attempt).rejects.toThrow(/DATABASE_URL postgres:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1\/forgeone does not answer/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });
});
