import type { DataSource } from 'typeorm';
import { CheckpointEntity } from '../entities/read-model.entities.js';

export interface ProjectorCheckpoint {
  readonly projector: string;
  /** Last stream sequence projected; 0 when the projector has not projected anything. */
  readonly lastSequence: number;
  readonly updatedAt: string | null;
}

/** Where a projector stands: a reader that knows an event's sequence can wait until it is projected. */
export async function checkpoint(ds: DataSource, projector: string): Promise<ProjectorCheckpoint> {
  const row = await ds.getRepository(CheckpointEntity).findOneBy({ projector });
  return row ?? { projector, lastSequence: 0, updatedAt: null };
}
