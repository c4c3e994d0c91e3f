import type { EmergencyChange, PluginManifest, StoredSignature, TestVectorResult } from '@forgeone/contracts';
import type { PromotionFacts } from '../promotion/promotion.gates.js';

/** The decider's commands: plain data, imperative names, everything the decision needs. */
export type PublishPluginVersion = {
  readonly type: 'PublishPluginVersion';
  readonly data: {
    readonly name: string;
    readonly version: string;
    readonly digest: string;
    readonly sizeBytes: number;
    readonly manifestDigest: string;
    readonly manifest: PluginManifest;
    readonly publisher: string;
    /** The envelope stored under its digest, and the publish time against which keys are judged. */
    readonly signature?: StoredSignature;
    /** Allow-list entries naming refused addresses that the publisher was allowed (publish-private-egress). */
    readonly privateEgress?: readonly string[];
  };
};

/**
 * Whether the environment is gated (read by the use case from its settings): a gated environment takes a
 * version by promotion, or by an emergency change with its reason. Absent: not gated.
 */
export interface GateFacts {
  readonly gated?: boolean;
  readonly emergency?: EmergencyChange;
}

export type InstallPlugin = {
  readonly type: 'InstallPlugin';
  readonly data: { readonly name: string; readonly version: string; readonly environment: string } & GateFacts;
};

export type UpgradePlugin = {
  readonly type: 'UpgradePlugin';
  readonly data: { readonly name: string; readonly version: string; readonly environment: string } & GateFacts;
};

/** Go back to a version below the installed one, for a recorded reason. */
export type RollbackPlugin = {
  readonly type: 'RollbackPlugin';
  readonly data: { readonly name: string; readonly version: string; readonly environment: string; readonly reason: string };
};

export type RemovePlugin = {
  readonly type: 'RemovePlugin';
  readonly data: { readonly name: string; readonly environment: string };
};

/** Install or upgrade a version into a gated environment from the one it is promoted from, when every gate holds. */
export type PromotePlugin = {
  readonly type: 'PromotePlugin';
  readonly data: PromotionFacts;
};


/**
 * Record a run of a version's test vectors in an environment, as a runner ran them on the digest
 * installed there; the decider compares it with the previous version's latest run there.
 */
export type RecordTestRun = {
  readonly type: 'RecordTestRun';
  readonly data: {
    readonly runId: string;
    readonly name: string;
    readonly version: string;
    /** The digest the runner ran; it must still be the one installed in `environment`. */
    readonly digest: string;
    readonly environment: string;
    readonly trigger: 'command' | 'install';
    readonly runner: string;
    readonly startedAt: string;
    readonly completedAt: string;
    readonly vectors: readonly TestVectorResult[];
    /** A measure beyond this many times the previous version's is a regression (FORGEONE_TEST_REGRESSION_FACTOR). */
    readonly limitFactor: number;
  };
};

export type PluginCommand = PublishPluginVersion | InstallPlugin | UpgradePlugin | RollbackPlugin | RemovePlugin | RecordTestRun | PromotePlugin;
