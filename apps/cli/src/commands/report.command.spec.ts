import { REPORT_NAMES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli.errors.js';
import { parseReportArguments } from './report.command.js';

describe('report command - arguments', () => {
  it('report - an unknown name is refused with the list of reports', () => {
    const error = (() => {
      try {
        parseReportArguments('calls-per-day', {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('there is no report "calls-per-day"');
    for (const name of REPORT_NAMES) expect((error as Error).message).toContain(name);
  });

  it('report - --from after --to is a clear error naming both', () => {
    expect(() => parseReportArguments('plugin-calls', { from: '2026-12-08', to: '2026-12-01' })).toThrow(/--from 2026-12-08 is after --to 2026-12-01/);
  });

  it('report - a bound that is not a date says what to give', () => {
    expect(() => parseReportArguments('plugin-calls', { from: 'last week' })).toThrow(/--from "last week" is not a date/);
  });

  it('report - one day as both bounds is the whole day', () => {
    expect(parseReportArguments('plugin-calls', { from: '2026-12-01', to: '2026-12-01' })).toEqual({ name: 'plugin-calls', from: '2026-12-01', to: '2026-12-01' });
  });
});
