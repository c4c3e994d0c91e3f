import type { SealedSecret } from '@forgeone/contracts';

/** Set one configuration value of a plugin in an environment: in clear, or a secret already sealed. */
export type SetPluginConfigValue = {
  readonly type: 'SetPluginConfigValue';
  readonly data:
    | { readonly name: string; readonly environment: string; readonly key: string; readonly secret: false; readonly value: string }
    | { readonly name: string; readonly environment: string; readonly key: string; readonly secret: true; readonly sealed: SealedSecret };
};

export type UnsetPluginConfigValue = {
  readonly type: 'UnsetPluginConfigValue';
  readonly data: { readonly name: string; readonly environment: string; readonly key: string };
};

export type PluginConfigCommand = SetPluginConfigValue | UnsetPluginConfigValue;
