import type { SealedSecret } from '@forgeone/contracts';

/**
 * Set one configuration value of a plugin in an environment: in clear, or a secret already sealed. With
 * `proposal` (the environment is gated) the change is only proposed, under that id, until approved.
 */
export type SetPluginConfigValue = {
  readonly type: 'SetPluginConfigValue';
  readonly data:
    | { readonly name: string; readonly environment: string; readonly key: string; readonly secret: false; readonly value: string }
    | { readonly name: string; readonly environment: string; readonly key: string; readonly secret: true; readonly sealed: SealedSecret };
  readonly proposal?: { readonly changeId: string };
};

export type UnsetPluginConfigValue = {
  readonly type: 'UnsetPluginConfigValue';
  readonly data: { readonly name: string; readonly environment: string; readonly key: string };
  readonly proposal?: { readonly changeId: string };
};

/**
 * Approve a proposed change, which applies it. `actor` is the authenticated approver; `actorTokenIssuers`
 * who issued the tokens they hold (the token aggregate), since a proposer's own tokens are not a second pair of eyes.
 */
export type ApprovePluginConfigChange = {
  readonly type: 'ApprovePluginConfigChange';
  readonly data: {
    readonly name: string;
    readonly environment: string;
    readonly changeId: string;
    readonly actor: string;
    readonly actorTokenIssuers: readonly string[];
    readonly notes?: string;
  };
};

/** Reject a proposed change: it is discarded and never applies. */
export type RejectPluginConfigChange = {
  readonly type: 'RejectPluginConfigChange';
  readonly data: { readonly name: string; readonly environment: string; readonly changeId: string; readonly notes: string };
};

export type PluginConfigCommand = SetPluginConfigValue | UnsetPluginConfigValue | ApprovePluginConfigChange | RejectPluginConfigChange;
