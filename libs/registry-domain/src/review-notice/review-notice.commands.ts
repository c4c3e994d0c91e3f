import type { IncidentSeverity } from '@forgeone/contracts';

interface Scope {
  readonly all: boolean;
  readonly plugins: readonly string[];
  /** Of `plugins`, those never published in the tenant. */
  readonly unknownPlugins: readonly string[];
}

/** Record an incident; a major one makes the plugins it names (or all) due for review at once. */
export type RecordIncident = {
  readonly type: 'RecordIncident';
  readonly data: Scope & { readonly incidentId: string; readonly severity: IncidentSeverity; readonly summary: string };
};

/** Record a regulation change; it makes the plugins it names (or all) due for review at once. */
export type RecordRegulation = {
  readonly type: 'RecordRegulation';
  readonly data: Scope & { readonly regulationId: string; readonly summary: string };
};

export type ReviewNoticeCommand = RecordIncident | RecordRegulation;
