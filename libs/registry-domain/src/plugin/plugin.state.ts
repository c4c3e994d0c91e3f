import type { StoredSignature, TestRunMeasures } from '@forgeone/contracts';

/** What the decider needs to know about one plugin, folded from its events. */
export interface PluginVersionState {
  readonly digest: string;
  readonly manifestDigest: string;
  readonly sizeBytes: number;
  /** The signature the version was published with; null when it was published unsigned. */
  readonly signature: StoredSignature | null;
  /** Who published the version (separation of duties: a publisher may not approve it). */
  readonly publisher: string;
}

/** The latest test run of one digest in one environment. */
export interface TestRunState {
  readonly runId: string;
  readonly version: string;
  readonly passed: boolean;
  readonly flagged: boolean;
  readonly completedAt: string;
  /** The run's totals (sums; memory: the highest), the baseline the next version's run is compared with. */
  readonly totals: TestRunMeasures;
}

export interface InstallationState {
  readonly version: string;
  readonly digest: string;
}

export interface PluginState {
  readonly name: string | null;
  readonly versions: Readonly<Record<string, PluginVersionState>>;
  /** Active installations by environment; a removed installation is absent. */
  readonly installations: Readonly<Record<string, InstallationState>>;
  /**
   * The highest version each environment has ever had installed, kept after a removal: install and
   * upgrade may not go below it (rollback protection, ARCHITECTURE.md, Registry); only a reasoned rollback may.
   */
  readonly highestVersions: Readonly<Record<string, string>>;
  /** The latest test run by environment, then by digest. */
  readonly testRuns: Readonly<Record<string, Readonly<Record<string, TestRunState>>>>;
  /**
   * The latest test run by environment, then by version, with the digest it ran: what a later version's
   * run is compared with (two versions may share a digest, so `testRuns` alone can lose the older one).
   */
  readonly testRunsByVersion: Readonly<Record<string, Readonly<Record<string, TestRunState & { readonly digest: string }>>>>;
}

export function initialPluginState(): PluginState {
  return { name: null, versions: {}, installations: {}, highestVersions: {}, testRuns: {}, testRunsByVersion: {} };
}
