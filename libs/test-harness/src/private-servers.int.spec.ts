import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPrivateNats } from './private-nats.js';
import { startPrivatePostgres } from './private-postgres.js';

describe('private servers for fault tests', () => {
  it('private postgres - its own port; committed rows survive a stop and start', async () => {
    const postgres = await startPrivatePostgres();
    try {
      expect(postgres.port).not.toBe(5432);
      const query = async (sql: string) => {
        const client = new pg.Client({ connectionString: postgres.url });
        await client.connect();
        try {
          return (await client.query(sql)).rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      };
      await query('create table kept (n int)');
      await query('insert into kept values (1), (2)');
      await postgres.stop();
      expect(postgres.pid).toBeUndefined();
      await expect(query('select 1')).rejects.toThrow(/ECONNREFUSED/);
      await postgres.start();
      expect(await query('select sum(n)::int as total from kept')).toEqual([{ total: 3 }]);
    } finally {
      await postgres.remove();
    }
  }, 60_000);

  it('private nats - its own port; a stream survives kill -9 and a start on the same store', async () => {
    const nats = await startPrivateNats();
    try {
      expect(nats.port).not.toBe(4222);
      let nc = await connect({ servers: nats.url });
      await (await jetstreamManager(nc)).streams.add({ name: 'kept', subjects: ['kept.>'] });
      for (let i = 0; i < 3; i++) await jetstream(nc).publish('kept.x', `m${i}`);
      await nc.close();
      await nats.kill('SIGKILL');
      await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow();
      await nats.start();
      nc = await connect({ servers: nats.url });
      expect((await (await jetstreamManager(nc)).streams.info('kept')).state.messages).toBe(3);
      await nc.close();
    } finally {
      await nats.remove();
    }
  }, 60_000);
});
