const h = await import('@forgeone/test-harness');
const { connect } = await import('@nats-io/transport-node');
const { jetstreamManager } = await import('@nats-io/jetstream');
const nc = await connect({ servers: h.TEST_NATS_URL });
const jsm = await jetstreamManager(nc);
const found = new Set();
for await (const s of jsm.streams.list()) { const m = /(e2e-siem-tenant-[0-9a-f]{10})/.exec(s.config.name); if (m) found.add(m[1]); }
await nc.close();
for (const ns of found) { await h.removeNamespace(ns); console.log('removed', ns); }
const pg = (await import('pg')).default;
const c = new pg.Client({ connectionString: h.TEST_DATABASE_URL }); await c.connect();
const r = await c.query("select datname from pg_database where datname like 'fo_siem_tenant_%'");
for (const { datname } of r.rows) { await c.query(`drop database if exists ${datname} with (force)`); console.log('dropped', datname); }
await c.end();
