import { describe, expect, it } from 'vitest';
import { InProcessSeries } from './in-process.series.js';
import { sampleValue as sample, scrapeSeries as scrape } from './testing/series.scrape.js';

describe('in-process series', () => {
  it('series - counts per label set, in the declared label order, and skips negative increments', async () => {
    const series = new InProcessSeries();
    const calls = series.counter('calls', 'Calls by plugin and outcome', ['plugin', 'outcome']);
    calls.add(1, ['a', 'ok']);
    calls.add(1, ['a', 'ok']);
    calls.add(2, ['a', 'SANDBOX.FUEL_EXHAUSTED']);
    calls.add(1, ['b', 'ok']);
    calls.add(-5, ['b', 'ok']);
    calls.add(Number.NaN, ['b', 'ok']);
    const text = await scrape(series);
    expect(text).toContain('# TYPE calls_total counter');
    expect(sample(text, 'calls_total{plugin="a",outcome="ok"}')).toBe(2);
    expect(sample(text, 'calls_total{plugin="a",outcome="SANDBOX.FUEL_EXHAUSTED"}')).toBe(2);
    expect(sample(text, 'calls_total{plugin="b",outcome="ok"}')).toBe(1);
  });

  it('series - histogram buckets are inclusive upper bounds, with count, sum and +Inf', async () => {
    const series = new InProcessSeries();
    const seconds = series.histogram('wait_seconds', { description: 'Waits', unit: 's', boundaries: [0.1, 1] }, ['queue']);
    for (const v of [0.05, 0.1, 0.5, 1, 7]) seconds.record(v, ['q']);
    seconds.record(-1, ['q']);
    const text = await scrape(series);
    expect(sample(text, 'wait_seconds_bucket{queue="q",le="0.1"}')).toBe(2);
    expect(sample(text, 'wait_seconds_bucket{queue="q",le="1"}')).toBe(4);
    expect(sample(text, 'wait_seconds_bucket{queue="q",le="+Inf"}')).toBe(5);
    expect(sample(text, 'wait_seconds_count{queue="q"}')).toBe(5);
    expect(sample(text, 'wait_seconds_sum{queue="q"}')).toBeCloseTo(8.65);
  });

  it('series - a scrape reads a snapshot: later records do not change what it returned', async () => {
    const series = new InProcessSeries();
    const seconds = series.histogram('h', { description: 'h', boundaries: [1] });
    seconds.record(0.5);
    const first = await series.collect();
    seconds.record(0.5);
    const point = first.resourceMetrics.scopeMetrics[0].metrics[0].dataPoints[0].value as { count: number; buckets: { counts: number[] } };
    expect(point.count).toBe(1);
    expect(point.buckets.counts).toEqual([1, 0]);
  });

  it('series - past 1999 label sets per instrument, new ones share the overflow series (2000 in all, as the SDK)', async () => {
    const series = new InProcessSeries();
    const calls = series.counter('calls', 'Calls', ['tenant', 'plugin']);
    for (let i = 0; i < 2100; i++) calls.add(1, [`t${i % 10}`, `p${i}`]);
    calls.add(1, ['t0', 'p0']);
    const text = await scrape(series);
    expect(text.split('\n').filter((l) => l.startsWith('calls_total{'))).toHaveLength(2000);
    expect(sample(text, 'calls_total{tenant="t0",plugin="p0"}')).toBe(2);
    expect(sample(text, 'calls_total{otel_metric_overflow="true"}')).toBe(101);
  });

  it('series - a bound series adds to the same series as a look-up, skips what a look-up skips, and binds to the overflow when full', async () => {
    const series = new InProcessSeries();
    const calls = series.counter('calls', 'Calls', ['plugin']);
    const seconds = series.histogram('wait_seconds', { description: 'Waits', boundaries: [0.1, 1] }, ['plugin']);
    const boundCalls = calls.bind(['a']);
    const boundSeconds = seconds.bind(['a']);
    calls.add(1, ['a']);
    boundCalls.add(2);
    boundCalls.add(-1);
    seconds.record(0.05, ['a']);
    boundSeconds.record(0.5);
    boundSeconds.record(Number.NaN);
    for (let i = 0; i < 2000; i++) calls.add(1, [`p${i}`]);
    calls.bind(['late']).add(5);
    const text = await scrape(series);
    expect(sample(text, 'calls_total{plugin="a"}')).toBe(3);
    expect(sample(text, 'wait_seconds_count{plugin="a"}')).toBe(2);
    expect(sample(text, 'wait_seconds_bucket{plugin="a",le="1"}')).toBe(2);
    expect(text).not.toContain('plugin="late"');
    expect(sample(text, 'calls_total{otel_metric_overflow="true"}')).toBe(2 + 5);
  });

  it('series - wrong label counts, duplicate names and unsorted buckets are refused by name', () => {
    const series = new InProcessSeries();
    const calls = series.counter('calls', 'Calls', ['plugin', 'outcome']);
    expect(() => calls.add(1, ['only-plugin'])).toThrow(/expected 2 label values \(plugin, outcome\), got 1/);
    expect(() => series.counter('calls', 'again')).toThrow(/metric calls is declared twice/);
    expect(() => series.histogram('h', { description: 'h', boundaries: [1, 1] })).toThrow(/histogram h: bucket boundaries must ascend strictly/);
  });

  it('series - a disabled set records nothing and produces no series', async () => {
    const series = new InProcessSeries('forgeone', false);
    series.counter('calls', 'Calls', ['plugin']).add(1, ['a']);
    series.histogram('h', { description: 'h', boundaries: [1] }).record(0.5);
    const { resourceMetrics } = await series.collect();
    expect(resourceMetrics.scopeMetrics[0].metrics).toEqual([]);
  });
});
