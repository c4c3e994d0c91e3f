import { randomUUID } from 'node:crypto';
const { SyslogTransport, renderCef, renderSyslogMessage } = await import('@forgeone/siem');
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const event = (i, tenant = 'bench') => ({ specversion: '1.0', id: randomUUID(), source: '/forgeone/registry', type: 'io.forgeone.plugin.rolled_back.v1', subject: `${tenant}:acme/hello`, time: new Date().toISOString(), datacontenttype: 'application/json', data: { name: 'acme/hello', fromVersion: '2.0.0', version: '1.0.0', digest: DIGEST, environment: 'staging', reason: `rollback ${i}: p99 | a=b \\ x` }, actor: 'alice', tenant, schemaversion: '1' });
const events = Array.from({ length: 20000 }, (_, i) => ({ sequence: i + 1, event: event(i) }));
const t = new SyslogTransport({ kind: 'syslog', host: '127.0.0.1', port: 1, tls: false }, 'bench');
for (let r = 0; r < 5; r++) {
  let s = process.hrtime.bigint();
  for (let i = 0; i < events.length; i += 500) t.render(events.slice(i, i + 500));
  const total = Number(process.hrtime.bigint() - s) / 1e6;
  s = process.hrtime.bigint();
  for (const e of events) renderCef(e);
  const cef = Number(process.hrtime.bigint() - s) / 1e6;
  console.log(`render ${total.toFixed(0)} ms (${(total*1000/events.length).toFixed(1)} us/ev), cef only ${cef.toFixed(0)} ms`);
}
