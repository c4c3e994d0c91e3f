import { INVOCATION_EVENT_TYPES } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-sourcing';
import { CallWindowAccumulator, type CallSample } from '@forgeone/sandbox';
import type { Logger } from '@forgeone/telemetry';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

export interface CallWindowsRecorderDeps {
  /** The runner's identity: stable across restarts of one installation, so numbering continues. */
  readonly runner: string;
  /** How long a window stays open after its first call. */
  readonly windowMs: number;
  /** Takes the runner's next window number (durably, so a replaced runner continues it). */
  readonly nextSequence: () => Promise<number>;
  /** Appends a tenant's events to its invocation log. */
  readonly append: (tenant: string, events: NewEvent[]) => Promise<void>;
  readonly now?: () => Date;
  readonly logger: Logger;
}

interface OpenWindow {
  readonly sequence: Promise<number>;
  readonly start: Date;
  readonly calls: CallWindowAccumulator;
  readonly timer: NodeJS.Timeout;
}

/**
 * Every call a runner answers is counted in a window; a window opens with the first call after the
 * previous one closed, takes its number at once (so a runner killed before writing it leaves a
 * missing number, never silence), and is written when `windowMs` has passed, before a version is
 * unloaded and at shutdown: one `invocations_recorded` event per (tenant, plugin, version,
 * environment, caller), numbered `part` of `parts`.
 */
export class CallWindowsRecorder {
  private open?: OpenWindow;
  private readonly writing = new Set<Promise<void>>();
  private readonly now: () => Date;

  constructor(private readonly deps: CallWindowsRecorderDeps) {
    if (!Number.isInteger(deps.windowMs) || deps.windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${deps.windowMs}`);
    this.now = deps.now ?? (() => new Date());
  }

  record(sample: CallSample): void {
    this.open ??= this.openWindow();
    this.open.calls.add(sample);
  }

  /** Closes the open window now and resolves once every closed window is written (or its failure logged). */
  async flush(): Promise<void> {
    this.close();
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  private openWindow(): OpenWindow {
    const sequence = this.deps.nextSequence();
    // Awaited when the window is written; a failure is reported there.
    sequence.catch(() => undefined);
    const timer = setTimeout(() => this.close(), this.deps.windowMs);
    timer.unref();
    return { sequence, start: this.now(), calls: new CallWindowAccumulator(), timer };
  }

  private close(): void {
    const window = this.open;
    if (window === undefined) return;
    this.open = undefined;
    clearTimeout(window.timer);
    const end = this.now();
    const writing = this.write(window, end).finally(() => this.writing.delete(writing));
    this.writing.add(writing);
  }

  private async write(window: OpenWindow, end: Date): Promise<void> {
    const summaries = window.calls.summaries();
    const calls = summaries.reduce((n, s) => n + s.count, 0);
    let sequence: number;
    try {
      sequence = await window.sequence;
    } catch (error) {
      // No number was taken, so nothing will look missing: say loudly what is lost.
      this.deps.logger.error({ err: error, runner: this.deps.runner, calls, groups: summaries.length }, 'could not number a call window; its summary is not recorded');
      return;
    }
    const parts = summaries.length;
    const byTenant = new Map<string, NewEvent[]>();
    summaries.forEach((summary, i) => {
      const data = { ...summary, window: { runner: this.deps.runner, sequence, part: i + 1, parts, start: window.start.toISOString(), end: end.toISOString() } };
      const event: NewEvent = {
        // Deterministic: an append retried inside the duplicate window is stored once.
        id: `calls:${this.deps.runner}:${sequence}:${i + 1}`,
        type: INVOCATION_EVENT_TYPES.invocationsRecorded,
        time: end.toISOString(),
        actor: `runner:${this.deps.runner}`,
        tenant: summary.tenant,
        subject: summary.plugin,
        data,
      };
      const list = byTenant.get(summary.tenant) ?? [];
      list.push(event);
      byTenant.set(summary.tenant, list);
    });
    await Promise.all(
      [...byTenant].map(async ([tenant, events]) => {
        try {
          await this.deps.append(tenant, events);
        } catch (error) {
          // The number is taken: the window shows as missing in the call-windows report.
          this.deps.logger.error({ err: error, runner: this.deps.runner, window: sequence, tenant }, 'could not record a call window summary');
        }
      }),
    );
  }
}

// Window numbers live beside the storage usage counters in the plugin bucket, under `_windows.`
// (tenant ids cannot start with `_`, so no plugin key names one).
const MAX_ATTEMPTS = 32;

/**
 * The next window number of `runner`, by compare-and-set on its counter in the runner's KV bucket:
 * concurrent runners sharing an identity never take the same number.
 */
export async function nextWindowSequence(kv: KV, runner: string): Promise<number> {
  const key = `_windows.${runner}`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get(key);
    const last = entry !== null && entry.operation === 'PUT' ? Number(entry.string()) : 0;
    if (!Number.isSafeInteger(last) || last < 0) throw new Error(`the window counter ${key} does not hold a number; repair it before the runner records calls`);
    try {
      await kv.put(key, String(last + 1), { previousSeq: entry?.revision ?? 0 });
      return last + 1;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown))) throw error;
    }
  }
  throw new Error(`the window counter ${key} stayed contended for ${MAX_ATTEMPTS} attempts`);
}
