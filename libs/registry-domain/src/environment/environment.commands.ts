import type { EnvironmentSettings, SetEnvironmentRequest } from '@forgeone/contracts';

/** Change an environment's settings; only the fields given change. */
export type ChangeEnvironmentSettings = {
  readonly type: 'ChangeEnvironmentSettings';
  readonly data: {
    readonly change: SetEnvironmentRequest;
    /** What the environment holds while it was never set (first-start defaults); the decider has no configuration. */
    readonly defaults: EnvironmentSettings;
    /** Who asks: a weakening they propose must be confirmed by someone else. */
    readonly actor: string;
    /** The id a weakening would be proposed under. */
    readonly proposalId: string;
  };
};

/** Confirm the weakening waiting on an environment, as a second administrator. */
export type ConfirmEnvironmentWeakening = {
  readonly type: 'ConfirmEnvironmentWeakening';
  readonly data: { readonly environment: string; readonly actor: string };
};

export type EnvironmentCommand = ChangeEnvironmentSettings | ConfirmEnvironmentWeakening;
