import type { Logger } from '@forgeone/telemetry';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import bytes from 'bytes';
import type { PlatformStorage } from './platform-storage.js';

/** Warn from this share of a byte limit, error from the next. */
export const STORAGE_WARN_PERCENT = 80;
export const STORAGE_ERROR_PERCENT = 95;

export type StorageUsageLevel = 'ok' | 'warn' | 'error';

/** How full one piece of storage was at the last look. */
export interface StorageUsage {
  readonly label: string;
  readonly bytes: number;
  /** The stream's byte limit, or the configured one when the stream has none. */
  readonly limit: number;
  readonly percent: number;
  readonly level: StorageUsageLevel;
}

/** The alarm level of a usage share. Pure. */
export function storageUsageLevel(percent: number): StorageUsageLevel {
  if (percent >= STORAGE_ERROR_PERCENT) return 'error';
  if (percent >= STORAGE_WARN_PERCENT) return 'warn';
  return 'ok';
}

export interface StorageUsageMonitorOptions {
  /** Between two looks (default 30 s). */
  readonly intervalMs?: number;
}

/**
 * Watches how full the storage a service writes is, so an operator hears about it before a full
 * stream starts refusing writes (`discard: new`): every interval it reads each stream's size and
 * logs at warn from 80 % of its byte limit and at error from 95 %. {@link health} gives the last
 * look for the service's health reply.
 */
export class StorageUsageMonitor {
  private timer?: NodeJS.Timeout;
  private jsm?: Promise<JetStreamManager>;
  private last?: readonly StorageUsage[];
  private problem?: string;
  private running?: Promise<readonly StorageUsage[]>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly storages: readonly PlatformStorage[],
    private readonly logger: Logger,
    private readonly options: StorageUsageMonitorOptions = {},
  ) {}

  /** Looks now and then every interval, until {@link stop}. */
  start(): void {
    if (this.timer || this.storages.length === 0) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads every stream's size once, logs what is over a threshold and keeps the result for {@link health}. */
  check(): Promise<readonly StorageUsage[]> {
    this.running ??= this.look().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The last look as a health check entry; usage never makes a service unready, its detail carries the alarm. */
  health(): { ok: boolean; detail: string } {
    if (this.problem) return { ok: true, detail: `usage unknown: ${this.problem}` };
    if (!this.last) return { ok: true, detail: 'usage not read yet' };
    return {
      ok: true,
      detail: this.last.map((u) => `${u.label} ${u.percent.toFixed(1)}% of ${bytes.format(u.limit)}${u.level === 'ok' ? '' : ` (${u.level.toUpperCase()})`}`).join('; '),
    };
  }

  private async look(): Promise<readonly StorageUsage[]> {
    try {
      this.jsm ??= jetstreamManager(this.nc, { checkAPI: false });
      const jsm = await this.jsm;
      const usage: StorageUsage[] = [];
      for (const storage of this.storages) {
        const info = await jsm.streams.info(storage.stream);
        const limit = info.config.max_bytes > 0 ? info.config.max_bytes : storage.maxBytes;
        const percent = (info.state.bytes / limit) * 100;
        const entry: StorageUsage = { label: storage.label, bytes: info.state.bytes, limit, percent, level: storageUsageLevel(percent) };
        usage.push(entry);
        if (entry.level === 'ok') continue;
        const fields = { storage: storage.label, bytes: entry.bytes, limit, percent: Number(percent.toFixed(1)) };
        const message = `${storage.label} is ${percent.toFixed(1)}% full (${bytes.format(entry.bytes)} of ${bytes.format(limit)}); when full it refuses writes: raise its limit (${storage.variables.max_bytes}) and run \`forgeone admin setup\``;
        if (entry.level === 'error') this.logger.error(fields, message);
        else this.logger.warn(fields, message);
      }
      this.last = usage;
      this.problem = undefined;
      return usage;
    } catch (error) {
      this.problem = (error as Error).message;
      this.logger.warn({ err: error }, 'could not read storage usage');
      return this.last ?? [];
    }
  }
}
