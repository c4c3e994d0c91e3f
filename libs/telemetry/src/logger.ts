import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Fields that must never reach a log line, wherever they appear. */
const REDACT = [
  'authorization',
  'Authorization',
  'token',
  'password',
  'secret',
  'credential',
  '*.authorization',
  '*.Authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.credential',
  'headers.authorization',
  'req.headers.authorization',
];

/** Structured JSON logger for a service; credentials are redacted by key. */
export function createLogger(service: string, level = process.env.FORGEONE_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Removes user:password from a connection URL before it is printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.username && parsed.password) parsed.username = parsed.username;
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
