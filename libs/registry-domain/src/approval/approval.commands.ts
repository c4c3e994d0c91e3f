/** The latest test run of the version's digest in the environment it is promoted from, as the approver sees it. */
export interface ApprovalTestRun {
  readonly runId: string;
  readonly environment: string;
  readonly passed: boolean;
  readonly flagged: boolean;
}

/** Approve a version for a gated environment; the facts the decision needs come with the command. */
export type ApproveVersion = {
  readonly type: 'ApproveVersion';
  readonly data: {
    readonly name: string;
    readonly version: string;
    readonly digest: string;
    readonly environment: string;
    /** Who approves (the authenticated principal) and who published the version. */
    readonly actor: string;
    readonly publisher: string;
    /** Whether the environment is gated now; approvals exist for gated environments only. */
    readonly gated: boolean;
    /** The latest run of the digest in the environment the target is promoted from; null when there is none. */
    readonly latestRun: ApprovalTestRun | null;
    readonly acceptRegressions: boolean;
    readonly notes?: string;
  };
};

/** Reject a version for a gated environment: while it stands, the version is not promoted there. */
export type RejectVersion = {
  readonly type: 'RejectVersion';
  readonly data: {
    readonly name: string;
    readonly version: string;
    readonly digest: string;
    readonly environment: string;
    readonly actor: string;
    readonly gated: boolean;
    readonly notes: string;
  };
};

export type ApprovalCommand = ApproveVersion | RejectVersion;
