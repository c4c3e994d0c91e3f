import { COMMAND_ERRORS, ForgeOneError, REVIEW_NOTICE_EVENT_TYPES, refusalOf, type ReviewNoticeEvent } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { ReviewNoticeCommand } from './review-notice.commands.js';

const refuse = { incident: refusalOf(COMMAND_ERRORS.recordIncident), regulation: refusalOf(COMMAND_ERRORS.recordRegulation) };

export interface ReviewNoticeState {
  readonly notices: number;
}

function decide(command: ReviewNoticeCommand, _state: ReviewNoticeState): ReviewNoticeEvent[] {
  const { data } = command;
  const what = command.type === 'RecordIncident' ? 'incident' : 'regulation';
  // Naming a plugin that does not exist is most likely a typo, which would leave the real plugin unreviewed.
  if (data.unknownPlugins.length > 0) {
    throw refuse[what]('REGISTRY.PLUGIN_NOT_FOUND', `the ${what} names plugins never published in your tenant: ${data.unknownPlugins.join(', ')}; check the names with forgeone plugin list`, {
      plugins: [...data.unknownPlugins],
    });
  }
  switch (command.type) {
    case 'RecordIncident':
      return [
        {
          type: REVIEW_NOTICE_EVENT_TYPES.incidentRecorded,
          data: { incidentId: command.data.incidentId, severity: command.data.severity, summary: command.data.summary, all: data.all, plugins: [...data.plugins] },
        },
      ];
    case 'RecordRegulation':
      return [{ type: REVIEW_NOTICE_EVENT_TYPES.regulationRecorded, data: { regulationId: command.data.regulationId, summary: command.data.summary, all: data.all, plugins: [...data.plugins] } }];
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown review notice command ${(unknown as { type: string }).type}`);
    }
  }
}

/** The `review-notice` aggregate of one tenant (`<tenant>`): its incidents and regulation changes. */
export const reviewNoticeDecider: Decider<ReviewNoticeCommand, ReviewNoticeEvent, ReviewNoticeState> = {
  decide,
  evolve: (state) => ({ notices: state.notices + 1 }),
  initialState: () => ({ notices: 0 }),
};
