import { COMMAND_ERRORS, ForgeOneError, REVIEW_EVENT_TYPES, refusalOf, type ReviewEvent } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ReviewCommand } from './review.commands.js';

const refuse = refusalOf(COMMAND_ERRORS.recordReview);

/** What the review aggregate needs to decide: nothing but how many reviews it holds (a review is always recorded). */
export interface ReviewState {
  readonly reviews: number;
}

function decide(command: ReviewCommand, _state: ReviewState): ReviewEvent[] {
  switch (command.type) {
    case 'RecordReview': {
      const { data } = command;
      if (!data.published) {
        throw refuse('REGISTRY.PLUGIN_NOT_FOUND', `plugin ${data.name} was never published in your tenant; check the name with forgeone plugin list`, { name: data.name });
      }
      // Separation of duties: a review is a second pair of eyes on what runs where reviews apply.
      if (data.publishersOfInstalled.includes(data.actor)) {
        throw refuse('REVIEW.SELF_REVIEW', `you published a version of ${data.name} that is installed where reviews apply; another principal with the review action must review it`, {
          name: data.name,
        });
      }
      return [{ type: REVIEW_EVENT_TYPES.recorded, data: { reviewId: data.reviewId, name: data.name, outcome: data.outcome, notes: data.notes } }];
    }
    default: {
      const unknown: never = command.type;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown review command ${String(unknown)}`);
    }
  }
}

/** The `review` aggregate of one plugin (`<tenant>:<publisher>/<plugin>`). */
export const reviewDecider: Decider<ReviewCommand, ReviewEvent, ReviewState> = {
  decide,
  evolve: (state) => ({ reviews: state.reviews + 1 }),
  initialState: () => ({ reviews: 0 }),
};
