import type { PluginEvent } from '@forgeone/contracts';
import type { PluginState } from '../plugin/plugin.state.js';

/** Who asked, when, and under which ids: everything a use case may not invent itself. */
export interface CommandMetadata {
  readonly actor: string;
  readonly tenant: string;
  readonly now: Date;
  /** Generates event ids; the adapter supplies a random or time-ordered id source. */
  readonly newId: () => string;
}

export interface AppendedEvent {
  readonly eventId: string;
  readonly sequence: number;
}

/** The plugin aggregate's stream: load folds its events, append guards with the loaded version. */
export interface PluginEventStream {
  load(name: string): Promise<{ state: PluginState; version: number }>;
  append(name: string, events: readonly PluginEvent[], options: { expectedVersion: number; metadata: CommandMetadata }): Promise<AppendedEvent[]>;
}

/** Content-addressed artifact storage. */
export interface ArtifactStorage {
  put(bytes: Uint8Array): Promise<{ digest: string; sizeBytes: number; created: boolean }>;
}

/** sha256 as `sha256:<hex>`; an adapter provides it so the domain stays free of node:crypto. */
export type Sha256 = (bytes: Uint8Array) => string;

export interface RegistryPorts {
  readonly plugins: PluginEventStream;
  readonly artifacts: ArtifactStorage;
  readonly sha256: Sha256;
}
