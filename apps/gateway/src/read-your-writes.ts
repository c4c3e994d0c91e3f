import { checkpoint } from '@forgeone/persistence';
import type { DataSource } from 'typeorm';
import { AUDIT_PROJECTOR } from './gateway.config.js';

export interface WaitForProjectionOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly projector?: string;
}

// Resolves true once the projector's checkpoint has reached `sequence`, false when it has not
// within `timeoutMs`. A failing read (projections not created yet, database restarting) counts
// as "not yet": the command already succeeded, so the answer is `projected: false`, never an error.
export async function waitForProjection(ds: DataSource, sequence: number, options: WaitForProjectionOptions): Promise<boolean> {
  if (!(sequence > 0)) return true;
  const projector = options.projector ?? AUDIT_PROJECTOR;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const reached = await checkpoint(ds, projector).then(
      (c) => c.lastSequence >= sequence,
      () => false,
    );
    if (reached) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs, left)));
  }
}
