import { z } from 'zod';

/**
 * The compliance reports, each read from one view of the SQL reporting contract
 * (docs/reporting.md) and answered per tenant over HTTP (`GET /v1/reports/<name>`) and by
 * `forgeone report <name>`.
 */
export const REPORT_NAMES = ['plugin-calls', 'call-windows', 'policy-denials', 'signature-results', 'sandbox-violations', 'key-trust-changes', 'policy-set-versions', 'token-events'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

export function isReportName(name: string): name is ReportName {
  return (REPORT_NAMES as readonly string[]).includes(name);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A report bound: a day (`2026-12-07`, from its start, or to its end) or an ISO time with offset. */
export const ReportBoundSchema = z
  .string()
  .refine((s) => (DATE_ONLY.test(s) || z.iso.datetime({ offset: true }).safeParse(s).success) && !Number.isNaN(Date.parse(s)), 'must be a date (YYYY-MM-DD) or an ISO 8601 time with offset');

/** The time range of a report: `from` inclusive, `to` inclusive (a day bound covers the whole day). */
export interface ReportRange {
  readonly from?: Date;
  /** Exclusive upper bound. */
  readonly before?: Date;
}

/** Turns the `from`/`to` bounds into a range, refusing `from` after `to` with a message naming both. */
export function reportRange(from: string | undefined, to: string | undefined): ReportRange {
  const start = from === undefined ? undefined : new Date(DATE_ONLY.test(from) ? `${from}T00:00:00Z` : from);
  const end = to === undefined ? undefined : DATE_ONLY.test(to) ? new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000) : new Date(Date.parse(to) + 1);
  if (start !== undefined && end !== undefined && start.getTime() >= end.getTime()) {
    throw new RangeError(`--from ${from} is after --to ${to}: the report's range would be empty; swap them`);
  }
  return { ...(start ? { from: start } : {}), ...(end ? { before: end } : {}) };
}
