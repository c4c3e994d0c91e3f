import type { CallRecordingMode } from '@forgeone/contracts';

/** Record a tenant's calls (or one environment's) in `mode` from now on; `setBy` is the authorised caller. */
export type SetCallRecording = {
  readonly type: 'SetCallRecording';
  readonly data: { readonly tenant: string; readonly environment: string | null; readonly mode: CallRecordingMode; readonly setBy: string };
};

export type CallRecordingCommand = SetCallRecording;
