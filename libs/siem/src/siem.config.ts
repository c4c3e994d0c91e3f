import { parseAllowedPrivateCidrs } from '@forgeone/contracts';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { SIEM_SEVERITIES, type SiemSeverity } from './severity.js';
import type { SinkFilter } from './sink-filter.js';

/** Where a syslog sink sends: TCP, or TLS with the CA its server's certificate must chain to (RFC 5425). */
export interface SyslogTarget {
  readonly kind: 'syslog';
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** PEM of the one CA the server must present a certificate from (TLS only); the system's CAs are not trusted. */
  readonly ca?: string;
}

/** A Splunk HTTP event collector: the URL events are POSTed to, its token, and the CA its certificate must chain to. */
export interface HecTarget {
  readonly kind: 'hec';
  readonly url: string;
  readonly token: string;
  readonly ca: string;
  /** Events per POST. */
  readonly batchEvents: number;
}

/** One sink: its stable id (its checkpoint's key), where it sends and what it receives. */
export interface SinkDefinition {
  readonly id: string;
  /** Its checkpoint's key when not its id (a tenant sink added again after a removal starts afresh). */
  readonly checkpointKey?: string;
  /** Where reading starts when the sink has no checkpoint yet (a tenant sink: the stream sequence that added it). */
  readonly startAfterSequence?: number;
  /** The event after which the sink takes nothing more (a tenant sink: its own `removed` event), delivered as its last. */
  readonly endsWith?: (event: { readonly type: string; readonly tenant: string; readonly data: unknown }) => boolean;
  readonly target: SyslogTarget | HecTarget;
  readonly filter: SinkFilter;
}

/** How every sink reads: events fetched at once (the per-sink buffer bound), retry backoff, the syslog HOSTNAME. */
export interface ForwarderTuning {
  readonly bufferEvents: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  readonly hostname: string;
}

export interface SiemConfig {
  readonly sinks: readonly SinkDefinition[];
  readonly tuning: ForwarderTuning;
  /** Blocks of the refused address ranges tenant sinks may reach (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE); none by default. */
  readonly tenantAllowPrivate: readonly string[];
  /** Events per POST for HEC sinks (FORGEONE_SIEM_HEC_BATCH_EVENTS). */
  readonly hecBatchEvents: number;
}

/** Thrown for a configuration the forwarder refuses to start with; the message names the variable. */
export class SiemConfigError extends Error {
  override readonly name = 'SiemConfigError';
}

/**
 * The platform sinks and tuning from the environment, every problem naming its variable:
 * FORGEONE_SIEM_SYSLOG_URL (`tcp://host:port` or `tls://host:port`) with FORGEONE_SIEM_SYSLOG_CA_FILE
 * for TLS; FORGEONE_SIEM_HEC_URL (https) with FORGEONE_SIEM_HEC_TOKEN and FORGEONE_SIEM_HEC_CA_FILE;
 * per sink FORGEONE_SIEM_<SYSLOG|HEC>_TYPES and _MIN_SEVERITY; FORGEONE_SIEM_HEC_BATCH_EVENTS,
 * FORGEONE_SIEM_BUFFER_EVENTS, FORGEONE_SIEM_RETRY_MIN_MS / _MAX_MS, FORGEONE_SIEM_HOSTNAME, and
 * FORGEONE_SIEM_TENANT_ALLOW_PRIVATE (blocks of refused addresses tenant sinks may reach).
 * The audit log's signed checkpoints reach every platform sink whatever its filter.
 */
export function siemConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SiemConfig {
  const sinks: SinkDefinition[] = [];
  const syslogUrl = env.FORGEONE_SIEM_SYSLOG_URL?.trim();
  if (syslogUrl) sinks.push({ id: 'platform-syslog', target: syslogTargetFrom(syslogUrl, env), filter: platformFilter(env, 'SYSLOG') });
  const hecUrl = env.FORGEONE_SIEM_HEC_URL?.trim();
  if (hecUrl) sinks.push({ id: 'platform-hec', target: hecTargetFrom(hecUrl, env), filter: platformFilter(env, 'HEC') });
  else if (env.FORGEONE_SIEM_HEC_TOKEN?.trim()) throw new SiemConfigError('FORGEONE_SIEM_HEC_TOKEN is set without FORGEONE_SIEM_HEC_URL: set the collector URL too, or remove the token');
  const retryMinMs = wholeNumber(env, 'FORGEONE_SIEM_RETRY_MIN_MS', 250, 1, 60_000);
  const retryMaxMs = wholeNumber(env, 'FORGEONE_SIEM_RETRY_MAX_MS', 30_000, 1, 3_600_000);
  if (retryMaxMs < retryMinMs) throw new SiemConfigError(`FORGEONE_SIEM_RETRY_MAX_MS (${retryMaxMs}) is below FORGEONE_SIEM_RETRY_MIN_MS (${retryMinMs})`);
  let tenantAllowPrivate: readonly string[];
  try {
    tenantAllowPrivate = parseAllowedPrivateCidrs(env.FORGEONE_SIEM_TENANT_ALLOW_PRIVATE);
  } catch (error) {
    throw new SiemConfigError((error as Error).message);
  }
  return {
    sinks,
    tenantAllowPrivate,
    hecBatchEvents: wholeNumber(env, 'FORGEONE_SIEM_HEC_BATCH_EVENTS', 100, 1, 10_000),
    tuning: {
      bufferEvents: wholeNumber(env, 'FORGEONE_SIEM_BUFFER_EVENTS', 512, 1, 100_000),
      retryMinMs,
      retryMaxMs,
      hostname: env.FORGEONE_SIEM_HOSTNAME?.trim() || hostname(),
    },
  };
}

/** `tcp://host:port` or `tls://host:port`; TLS needs its CA file. `variable` names the setting in errors. */
export function syslogTargetFrom(raw: string, env: NodeJS.ProcessEnv, variable = 'FORGEONE_SIEM_SYSLOG_URL', caVariable = 'FORGEONE_SIEM_SYSLOG_CA_FILE'): SyslogTarget {
  const url = parseUrl(raw, variable);
  if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') throw new SiemConfigError(`${variable} "${raw}" is invalid: use tcp://host:port or tls://host:port`);
  if (!url.hostname || !url.port) throw new SiemConfigError(`${variable} "${raw}" is invalid: it needs a host and a port, as in tls://siem.example.com:6514`);
  if (url.username || url.password || (url.pathname && url.pathname !== '/') || url.search) throw new SiemConfigError(`${variable} "${raw}" is invalid: only a host and a port, no credentials, path or query`);
  const tls = url.protocol === 'tls:';
  const caFile = env[caVariable]?.trim();
  if (tls && !caFile) throw new SiemConfigError(`${caVariable} is not set: ${variable} uses TLS, and the forwarder trusts only the CA you pin (a PEM file)`);
  if (!tls && caFile) throw new SiemConfigError(`${caVariable} is set but ${variable} is tcp://: use tls:// to send over TLS, or remove the CA file`);
  return { kind: 'syslog', host: bareHost(url.hostname), port: Number(url.port), tls, ...(caFile ? { ca: readPem(caFile, caVariable) } : {}) };
}

function hecTargetFrom(raw: string, env: NodeJS.ProcessEnv): HecTarget {
  const url = parseUrl(raw, 'FORGEONE_SIEM_HEC_URL');
  if (url.protocol !== 'https:') throw new SiemConfigError(`FORGEONE_SIEM_HEC_URL "${redactedUrl(url)}" is invalid: the collector is reached over https only`);
  if (url.username || url.password) throw new SiemConfigError('FORGEONE_SIEM_HEC_URL holds credentials: give the token in FORGEONE_SIEM_HEC_TOKEN instead');
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/services/collector/event';
  const token = env.FORGEONE_SIEM_HEC_TOKEN?.trim();
  if (!token) throw new SiemConfigError('FORGEONE_SIEM_HEC_TOKEN is not set: the collector needs its HEC token (sent as "Authorization: Splunk <token>")');
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) throw new SiemConfigError('FORGEONE_SIEM_HEC_TOKEN is invalid: use 1-512 printable characters without spaces');
  const caFile = env.FORGEONE_SIEM_HEC_CA_FILE?.trim();
  if (!caFile) throw new SiemConfigError('FORGEONE_SIEM_HEC_CA_FILE is not set: the forwarder trusts only the CA you pin for the collector (a PEM file)');
  return { kind: 'hec', url: url.toString(), token, ca: readPem(caFile, 'FORGEONE_SIEM_HEC_CA_FILE'), batchEvents: wholeNumber(env, 'FORGEONE_SIEM_HEC_BATCH_EVENTS', 100, 1, 10_000) };
}

function platformFilter(env: NodeJS.ProcessEnv, sink: 'SYSLOG' | 'HEC'): SinkFilter {
  const typesVariable = `FORGEONE_SIEM_${sink}_TYPES`;
  const types = (env[typesVariable] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const type of types) {
    if (!/^io\.forgeone\.[a-z_.]*\*?$|^io\.forgeone\.[a-z_]+\.[a-z_]+\.v[0-9]+$/.test(type)) throw new SiemConfigError(`${typesVariable}: "${type}" is not an event type (io.forgeone.<aggregate>.<event>.v<n>) or a prefix ending in *`);
  }
  const severityVariable = `FORGEONE_SIEM_${sink}_MIN_SEVERITY`;
  const minSeverity = env[severityVariable]?.trim();
  if (minSeverity && !SIEM_SEVERITIES.includes(minSeverity as SiemSeverity)) throw new SiemConfigError(`${severityVariable} "${minSeverity}" is invalid: use low, medium or high`);
  return { ...(types.length ? { types } : {}), ...(minSeverity ? { minSeverity: minSeverity as SiemSeverity } : {}), always: ['io.forgeone.audit.checkpoint_signed.v1'] };
}

function parseUrl(raw: string, variable: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new SiemConfigError(`${variable} is not a URL`);
  }
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The URL with its credentials and query left out, for messages. */
export function redactedUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function readPem(file: string, variable: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SiemConfigError(`${variable} "${file}" cannot be read: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new SiemConfigError(`${variable} "${file}" holds no PEM certificate`);
  return pem;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new SiemConfigError(`${name} "${raw}" is invalid: use a whole number from ${min} to ${max}`);
  return value;
}
