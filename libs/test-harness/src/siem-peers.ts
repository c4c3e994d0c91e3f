/**
 * Real peers for the SIEM tests and benchmark: a test CA made with openssl, and an rsyslogd of our own
 * (its own config, port, work folder and pid file; never the system one) writing what it receives to a file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/**
 * A test CA in `dir` and a server certificate it signed for 127.0.0.1, 127.0.0.2 and localhost (P-256 keys).
 * Returns the file paths and the CA's PEM.
 */
export function makeTestCa(dir: string, name = 'ca'): TestCa {
  mkdirSync(dir, { recursive: true });
  const f = (file: string) => join(dir, `${name}-${file}`);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=ForgeOne test ${name}`);
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key'), caPem: readFileSync(f('ca.pem'), 'utf8') };
}

/**
 * Starts `rsyslogd -n` with a config of its own in `dir`: imtcp on `port` (`address`, 127.0.0.1 unless given), TLS through
 * gtls when `tls` holds the CA, certificate and key files, every message written as `%rawmsg%` (the
 * RFC 5424 message as received, the octet count removed) one a line to `<dir>/received.log`; with
 * `stampReceipt` each line starts with the time rsyslog received it (RFC 3339, microseconds).
 */
export async function startRsyslog({
  dir,
  port,
  tls,
  stampReceipt,
  address = '127.0.0.1',
}: {
  dir: string;
  port: number;
  tls?: { caFile: string; certFile: string; keyFile: string };
  stampReceipt?: boolean;
  address?: string;
}): Promise<Rsyslog> {
  mkdirSync(join(dir, 'work'), { recursive: true });
  const out = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  const tlsGlobal = tls ? `global(DefaultNetstreamDriverCAFile="${tls.caFile}" DefaultNetstreamDriverCertFile="${tls.certFile}" DefaultNetstreamDriverKeyFile="${tls.keyFile}")\n` : '';
  const tlsModule = tls ? ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' : '';
  writeFileSync(
    conf,
    `global(workDirectory="${join(dir, 'work')}" maxMessageSize="64k")
${tlsGlobal}module(load="imtcp"${tlsModule} MaxSessions="50")
template(name="raw" type="string" string="${stampReceipt ? '%timegenerated:::date-rfc3339% ' : ''}%rawmsg%\\n")
ruleset(name="siem") { action(type="omfile" file="${out}" template="raw" flushOnTXEnd="on" asyncWriting="off") }
input(type="imtcp" port="${port}" address="${address}" ruleset="siem")
`,
  );
  const child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // rsyslogd with gtls took longer than 10 s to listen on a loaded 2-core machine.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${output}`);
    if (await canConnect(port, address)) break;
    if (Date.now() > deadline) throw new Error(`rsyslogd did not listen on ${port}: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    file: out,
    output: () => output,
    /** Lines received so far. */
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await exited;
    },
  };
}

function canConnect(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface TestCa {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
}

export interface Rsyslog {
  readonly port: number;
  readonly file: string;
  output(): string;
  lines(): string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}
