/** A domain event as a decider sees it: its catalogued type and its data, no envelope. */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/**
 * An aggregate's behaviour as three pure functions: `decide(command, state) → events` (throws a
 * ForgeOneError to refuse), `evolve(state, event) → state`, and `initialState()`. No clock, ids or
 * I/O: they arrive with the command. Stored events reach `evolve` as their CloudEvents envelope,
 * which carries `type` and `data` (and `time`, for a fold that records when something happened).
 */
export interface Decider<C, E extends DomainEvent, S> {
  initialState(): S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

/** The state after `events`, starting from `state` (the decider's initial state by default). */
export function foldEvents<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, events: Iterable<E>, state: S = decider.initialState()): S {
  let out = state;
  for (const event of events) out = decider.evolve(out, event);
  return out;
}
