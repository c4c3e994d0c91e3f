import type { ReviewOutcome } from '@forgeone/contracts';

/** Record a review of a plugin. */
export type RecordReview = {
  readonly type: 'RecordReview';
  readonly data: {
    readonly reviewId: string;
    readonly name: string;
    readonly outcome: ReviewOutcome;
    readonly notes: string;
    /** Who reviews. */
    readonly actor: string;
    /** Whether the plugin was ever published in the tenant. */
    readonly published: boolean;
    /** Who published the versions installed now in the environments where reviews apply. */
    readonly publishersOfInstalled: readonly string[];
  };
};

export type ReviewCommand = RecordReview;
