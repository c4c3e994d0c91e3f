import type { SiemSinkDefinition } from '@forgeone/contracts';

/**
 * Add a tenant SIEM sink: its definition (a HEC token already sealed), and the facts the address
 * rule judges, gathered by the use case: the host the URL names, every address it resolved to, and
 * the blocks the platform opened to tenant sinks (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE).
 */
export type AddSiemSink = {
  readonly type: 'AddSiemSink';
  readonly data: {
    readonly definition: SiemSinkDefinition;
    readonly host: string;
    readonly addresses: readonly string[];
    readonly allowedPrivate: readonly string[];
  };
};

export type RemoveSiemSink = {
  readonly type: 'RemoveSiemSink';
  readonly data: { readonly name: string };
};

export type SiemSinkCommand = AddSiemSink | RemoveSiemSink;
