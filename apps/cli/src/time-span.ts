const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Milliseconds of a span such as 90s, 30m, 24h, 7d or 2w; undefined when `text` is not one. */
export function spanMs(text: string): number | undefined {
  const span = /^(\d+)([smhdw])$/.exec(text.trim());
  return span ? Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS] : undefined;
}

/** The time of an ISO 8601 date or time (a date alone is midnight UTC); undefined for anything else. */
export function isoTimeMs(text: string): number | undefined {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}
