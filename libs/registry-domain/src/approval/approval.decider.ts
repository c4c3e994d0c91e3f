import { APPROVAL_EVENT_TYPES, COMMAND_ERRORS, ForgeOneError, refusalOf, type ApprovalEvent, type CommandErrorCode } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ApprovalCommand, ApproveVersion, RejectVersion } from './approval.commands.js';

/** One principal's standing decision on one version (the latest they recorded). */
export interface ApprovalDecision {
  readonly decision: 'approved' | 'rejected';
  readonly digest: string;
  /** The event that recorded it and when (from the stored envelope); null in specs that fold bare events. */
  readonly eventId: string | null;
  readonly at: string | null;
  readonly notes: string | null;
  /** The flagged test run whose regressions this approval accepted. */
  readonly acceptedRegressionsRunId: string | null;
}

/** Decisions on the versions of one plugin for one gated environment: by version, then by principal. */
export interface ApprovalState {
  readonly versions: Readonly<Record<string, Readonly<Record<string, ApprovalDecision>>>>;
}

export function initialApprovalState(): ApprovalState {
  return { versions: {} };
}

const refuse = {
  approve: refusalOf(COMMAND_ERRORS.approve),
  notGated: refusalOf<readonly (CommandErrorCode<'approve'> & CommandErrorCode<'reject'>)[]>([]),
};

function decide(command: ApprovalCommand, state: ApprovalState): ApprovalEvent[] {
  switch (command.type) {
    case 'ApproveVersion':
      return approve(command, state);
    case 'RejectVersion':
      return reject(command, state);
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown approval command ${(unknown as { type: string }).type}`);
    }
  }
}

/**
 * evolve(state, event) → state. The approver is the envelope's `actor`: stored events reach evolve as their
 * envelope, so who decided is the writer's record, never a field a caller could fill in.
 */
function evolve(state: ApprovalState, event: ApprovalEvent & { readonly actor?: string; readonly id?: string; readonly time?: string }): ApprovalState {
  const principal = event.actor ?? 'unknown';
  const { version, digest } = event.data;
  const common = { digest, eventId: event.id ?? null, at: event.time ?? null, notes: event.data.notes ?? null };
  let decision: ApprovalDecision;
  switch (event.type) {
    case APPROVAL_EVENT_TYPES.approved:
      decision = { ...common, decision: 'approved', acceptedRegressionsRunId: event.data.acceptedRegressions?.runId ?? null };
      break;
    case APPROVAL_EVENT_TYPES.rejected:
      decision = { ...common, decision: 'rejected', acceptedRegressionsRunId: null };
      break;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
  return { versions: { ...state.versions, [version]: { ...state.versions[version], [principal]: decision } } };
}

/** The approval aggregate (`<tenant>:<name>@<environment>`) as the shared command handler takes it. */
export const approvalDecider: Decider<ApprovalCommand, ApprovalEvent, ApprovalState> = { decide, evolve, initialState: initialApprovalState };

function approve({ data }: ApproveVersion, state: ApprovalState): ApprovalEvent[] {
  refuseUngated(data);
  if (data.actor === data.publisher) {
    throw refuse.approve(
      'APPROVAL.OWN_VERSION',
      `${data.actor} published ${data.name}@${data.version} and may not approve it: nobody approves their own change; ask another approver`,
      { name: data.name, version: data.version, environment: data.environment, publisher: data.publisher },
    );
  }
  const run = data.latestRun;
  if (run?.flagged && !data.acceptRegressions) {
    throw refuse.approve(
      'APPROVAL.REGRESSIONS_NOT_ACCEPTED',
      `the latest test run of ${data.name}@${data.version} in ${run.environment} (${run.runId}) flagged operational regressions; look at them and approve with --accept-regressions to accept them`,
      { name: data.name, version: data.version, environment: data.environment, runId: run.runId },
    );
  }
  const accepted = run?.flagged && data.acceptRegressions ? { runId: run.runId, environment: run.environment } : undefined;
  const standing = state.versions[data.version]?.[data.actor];
  if (
    standing?.decision === 'approved' &&
    standing.digest === data.digest &&
    standing.acceptedRegressionsRunId === (accepted?.runId ?? null) &&
    standing.notes === (data.notes ?? null)
  ) {
    return [];
  }
  return [
    {
      type: APPROVAL_EVENT_TYPES.approved,
      data: {
        name: data.name,
        version: data.version,
        digest: data.digest,
        environment: data.environment,
        ...(data.notes !== undefined ? { notes: data.notes } : {}),
        ...(accepted ? { acceptedRegressions: accepted } : {}),
      },
    },
  ];
}

function reject({ data }: RejectVersion, state: ApprovalState): ApprovalEvent[] {
  refuseUngated(data);
  const standing = state.versions[data.version]?.[data.actor];
  if (standing?.decision === 'rejected' && standing.digest === data.digest && standing.notes === data.notes) return [];
  return [{ type: APPROVAL_EVENT_TYPES.rejected, data: { name: data.name, version: data.version, digest: data.digest, environment: data.environment, notes: data.notes } }];
}

function refuseUngated(data: { readonly name: string; readonly version: string; readonly environment: string; readonly gated: boolean }): void {
  if (data.gated) return;
  throw refuse.notGated(
    'APPROVAL.NOT_GATED',
    `${data.environment} is not gated, so versions reach it without approval; approve for a gated environment (forgeone env show ${data.environment})`,
    { name: data.name, version: data.version, environment: data.environment },
  );
}
