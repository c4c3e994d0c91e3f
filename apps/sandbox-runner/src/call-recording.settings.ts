import { CALL_RECORDING_AGGREGATE, CALL_RECORDING_EVENT_TYPES, callRecordingFor, DEFAULT_CALL_RECORDING, evolveCallRecording, type CallRecordingMode, type CallRecordingSet, type CallRecordingSettings } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { Logger } from '@forgeone/telemetry';

export interface CallRecordingSettingsDeps {
  readonly events: Pick<EventStore, 'read'>;
  /** How old a tenant's settings may be before the next call reads them again (in the background). */
  readonly refreshMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Cached {
  settings: CallRecordingSettings;
  readAt: number;
  refreshing?: Promise<void>;
}

/**
 * Each tenant's call-recording settings as the policy service recorded them, read from the
 * tenant's `call-recording` events (verified as the policy service's) and kept for `refreshMs`;
 * a call after that answers from what is known while a fresh read runs. A tenant whose settings
 * cannot be read is recorded call by call: when in doubt, record more.
 */
export class CallRecordingSettingsCache {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;

  constructor(private readonly deps: CallRecordingSettingsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The mode for a call; synchronous once the tenant's settings are known (the hot path). */
  modeFor(tenant: string, environment: string): CallRecordingMode | Promise<CallRecordingMode> {
    const entry = this.cache.get(tenant);
    if (entry === undefined) return this.load(tenant).then((settings) => callRecordingFor(settings, environment));
    if (this.now() - entry.readAt > this.deps.refreshMs && entry.refreshing === undefined) {
      entry.refreshing = this.load(tenant)
        .then(() => undefined)
        .finally(() => (entry.refreshing = undefined));
    }
    return callRecordingFor(entry.settings, environment);
  }

  private async load(tenant: string): Promise<CallRecordingSettings> {
    let settings: CallRecordingSettings;
    try {
      const stored = await this.deps.events.read(CALL_RECORDING_AGGREGATE, tenant);
      settings = stored.reduce((s, { event }) => (event.type === CALL_RECORDING_EVENT_TYPES.set ? evolveCallRecording(s, event as unknown as CallRecordingSet) : s), DEFAULT_CALL_RECORDING);
    } catch (error) {
      this.deps.logger.error({ err: error, tenant }, 'could not read the call recording settings; recording every call of the tenant until they can be read');
      // Not cached: the next call tries again.
      return { tenantDefault: 'per-call', environments: {} };
    }
    this.cache.set(tenant, { settings, readAt: this.now() });
    return settings;
  }
}
