import { readFileSync } from 'node:fs';
import { createTestDatabase, startTestPlatform, testNamespace, removeNamespace } from '@forgeone/test-harness';
const clk = 100;
const cpu = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) / clk; } catch { return NaN; } };
const ns = testNamespace('cpuprobe');
const db = await createTestDatabase('cpuprobe');
const t0 = Date.now();
const p = await startTestPlatform({ namespace: ns, databaseUrl: db.url, timeoutMs: 300000, env: { NODE_OPTIONS: '--import /work/wt-suite/bench/cpu-profile.preload.mjs', FORGEONE_CPU_PROF_DIR: '/tmp/sprof' } });
const wall = (Date.now() - t0) / 1000;
let sum = 0; const rows = [];
for (const [name, pid] of Object.entries(p.pids)) { const c = cpu(pid); sum += c; rows.push(`${name.padEnd(18)} ${c.toFixed(2)} s`); }
console.log(rows.join('\n')); console.log('services total', sum.toFixed(2), 's; wall', wall.toFixed(1), 's; load', (await import('node:os')).loadavg()[0].toFixed(1));
await p.stop(); await db.drop?.(); await removeNamespace?.(ns).catch(()=>{});
