import { durationMs } from '@forgeone/contracts';

/** Milliseconds of a span such as 90s, 30m, 24h, 7d or 2w; undefined when `text` is not one (the platform's one duration syntax). */
export function spanMs(text: string): number | undefined {
  return durationMs(text);
}

/** The time of an ISO 8601 date or time (a date alone is midnight UTC); undefined for anything else. */
export function isoTimeMs(text: string): number | undefined {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}
