import { REVIEW_VERBS } from '@forgeone/contracts';
import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { RegistryCommandSender } from '../registry-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// Reviews, incidents and regulation changes: each route one registry command, which the registry authorises
// (review, record-incident, record-regulation, read) and answers from the event stream.
@Controller()
export class ReviewsController {
  constructor(private readonly commands: RegistryCommandSender) {}

  @ContractRoute(API.recordReview)
  record(@RouteRequest() { params, body, credential }: RouteInput<typeof API.recordReview>): Promise<RouteReply<typeof API.recordReview>> {
    return this.commands.ask(REVIEW_VERBS.recordReview, { ...body, name: `${params.publisher}/${params.plugin}` }, credential);
  }

  @ContractRoute(API.showReview)
  show(@RouteRequest() { params, credential }: RouteInput<typeof API.showReview>): Promise<RouteReply<typeof API.showReview>> {
    return this.commands.ask(REVIEW_VERBS.showReview, { name: `${params.publisher}/${params.plugin}` }, credential);
  }

  @ContractRoute(API.listReviews)
  list(@RouteRequest() { query, credential }: RouteInput<typeof API.listReviews>): Promise<RouteReply<typeof API.listReviews>> {
    return this.commands.ask(REVIEW_VERBS.listReviews, query.overdue === 'true' ? { overdue: true } : {}, credential);
  }

  @ContractRoute(API.recordIncident)
  recordIncident(@RouteRequest() { body, credential }: RouteInput<typeof API.recordIncident>): Promise<RouteReply<typeof API.recordIncident>> {
    return this.commands.ask(REVIEW_VERBS.recordIncident, body, credential);
  }

  @ContractRoute(API.recordRegulation)
  recordRegulation(@RouteRequest() { body, credential }: RouteInput<typeof API.recordRegulation>): Promise<RouteReply<typeof API.recordRegulation>> {
    return this.commands.ask(REVIEW_VERBS.recordRegulation, body, credential);
  }
}
