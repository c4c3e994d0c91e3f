/**
 * Remembers the stream sequence at which each event id was first applied, so a replayed copy of
 * a genuine event (same id, later sequence) is refused. For in-memory folds that read from the start.
 */
export class ReplayGuard {
  private readonly firstSeen = new Map<string, number>();

  /** Records the id at `sequence`; answers the earlier sequence when the id was applied elsewhere before. */
  replayOf(id: string, sequence: number): number | undefined {
    const first = this.firstSeen.get(id);
    if (first === undefined) {
      this.firstSeen.set(id, sequence);
      return undefined;
    }
    return first === sequence ? undefined : first;
  }

  get size(): number {
    return this.firstSeen.size;
  }
}
