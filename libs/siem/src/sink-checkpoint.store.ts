import type { DataSource } from 'typeorm';

/** Where one sink stands: the last stream sequence it took (or passed by filter), and its last failure. */
export interface SinkCheckpoint {
  readonly sink: string;
  readonly lastSequence: number;
  readonly lastEventId: string | null;
  readonly deliveredAt: string | null;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

/**
 * Per-sink checkpoints in `siem.sink_checkpoints` (migration CreateSiemSinkCheckpoints). The
 * checkpoint moves only after a sink took a batch, so a restart (or kill -9) resumes right after
 * the last delivered event: at least once, duplicates carrying the same event id.
 */
export class SinkCheckpointStore {
  constructor(private readonly ds: DataSource) {}

  async load(sink: string): Promise<SinkCheckpoint> {
    const rows = (await this.ds.query(
      `SELECT sink, last_sequence, last_event_id, delivered_at, last_error, last_error_at FROM siem.sink_checkpoints WHERE sink = $1`,
      [sink],
    )) as Row[];
    return rows.length ? fromRow(rows[0]) : { sink, lastSequence: 0, lastEventId: null, deliveredAt: null, lastError: null, lastErrorAt: null };
  }

  async loadAll(): Promise<SinkCheckpoint[]> {
    const rows = (await this.ds.query(`SELECT sink, last_sequence, last_event_id, delivered_at, last_error, last_error_at FROM siem.sink_checkpoints ORDER BY sink`)) as Row[];
    return rows.map(fromRow);
  }

  /** Records that `sink` took everything up to `sequence`; clears its last error. Never moves a checkpoint back. */
  async delivered(sink: string, sequence: number, eventId: string | null): Promise<void> {
    await this.ds.query(
      `INSERT INTO siem.sink_checkpoints (sink, last_sequence, last_event_id, delivered_at, last_error, last_error_at) VALUES ($1, $2, $3, now(), NULL, NULL)
       ON CONFLICT (sink) DO UPDATE SET last_sequence = GREATEST(siem.sink_checkpoints.last_sequence, EXCLUDED.last_sequence),
         last_event_id = COALESCE(EXCLUDED.last_event_id, siem.sink_checkpoints.last_event_id), delivered_at = now(), last_error = NULL, last_error_at = NULL`,
      [sink, sequence, eventId],
    );
  }

  /** Records a failed delivery's message (already free of secrets), keeping the position. */
  async failed(sink: string, message: string): Promise<void> {
    await this.ds.query(
      `INSERT INTO siem.sink_checkpoints (sink, last_sequence, last_error, last_error_at) VALUES ($1, 0, $2, now())
       ON CONFLICT (sink) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
      [sink, message.slice(0, 1_000)],
    );
  }

  /** Forgets a sink (a tenant sink removed). */
  async remove(sink: string): Promise<void> {
    await this.ds.query(`DELETE FROM siem.sink_checkpoints WHERE sink = $1`, [sink]);
  }
}

interface Row {
  sink: string;
  last_sequence: string | number;
  last_event_id: string | null;
  delivered_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
}

function fromRow(row: Row): SinkCheckpoint {
  return {
    sink: row.sink,
    lastSequence: Number(row.last_sequence),
    lastEventId: row.last_event_id,
    deliveredAt: row.delivered_at ? new Date(row.delivered_at).toISOString() : null,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at ? new Date(row.last_error_at).toISOString() : null,
  };
}
