import { AuthzClient } from '@forgeone/authz-client';
import { BUS_NAMES, BusClient, BusContext } from '@forgeone/bus';
import {
  ENVIRONMENT_VERBS,
  EnvironmentNameRequestSchema,
  InstallPluginRequestSchema,
  ListEnvironmentsRequestSchema,
  ListPluginConfigRequestSchema,
  SetEnvironmentRequestSchema,
  SetPluginConfigRequestSchema,
  UnsetPluginConfigRequestSchema,
  ApprovePluginConfigRequestSchema,
  RejectPluginConfigRequestSchema,
  parseOrThrow,
  PublishPluginVersionRequestSchema,
  RemovePluginRequestSchema,
  RollbackPluginRequestSchema,
  UpgradePluginRequestSchema,
  ReportDropRejectedRequestSchema,
  WATCH_VERBS,
  ApprovePluginRequestSchema,
  PromotePluginRequestSchema,
  RejectPluginRequestSchema,
  REGISTRY_VERBS,
  ListReviewsRequestSchema,
  RecordIncidentRequestSchema,
  RecordRegulationRequestSchema,
  RecordReviewRequestSchema,
  REVIEW_VERBS,
  ShowReviewRequestSchema,
  type ReviewSettings,
  type SignaturePolicy,
  type StorageQuotaSettings,
  TEST_RUN_VERBS,
  TestPluginRequestSchema,
  type TestRunSettings,
  type Names,
} from '@forgeone/contracts';
import { ArtifactStore, JetStreamEventStore, sha256Digest } from '@forgeone/event-store';
import {
  confirmEnvironment,
  installPlugin,
  listEnvironments,
  listPluginConfig,
  setEnvironment,
  setPluginConfig,
  showEnvironment,
  unsetPluginConfig,
  approvePluginConfig,
  rejectPluginConfig,
  publishPluginVersion,
  removePlugin,
  rollbackPlugin,
  upgradePlugin,
  reportDropRejected,
  approvePlugin,
  promotePlugin,
  rejectPlugin,
  type PromotionSettings,
  testPlugin,
  listReviews,
  recordIncident,
  recordRegulation,
  recordReview,
  showReview,
  type CommandContext,
  type InstallationOutcome,
  type RegistryPorts,
  type TestRunPorts,
} from '@forgeone/registry-domain';
import { createLogger } from '@forgeone/telemetry';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { PolicyAuthorizer } from './policy.authorizer.js';
import { SignatureVerifierAdapter } from './signature-verifier.adapter.js';
import { BusTestVectorRunner } from './test-vector.runner.js';
import type { ConfigSecretBox } from '@forgeone/signing';

/** Nest token of the registry's signature policy (FORGEONE_SIGNATURE_POLICY). */
export const SIGNATURE_POLICY = Symbol('SIGNATURE_POLICY');
/** Nest token of the registry's storage quota settings (FORGEONE_STORAGE_*). */
export const STORAGE_QUOTA = Symbol('STORAGE_QUOTA');
/** Nest token of the box configuration secrets are sealed with (null: no FORGEONE_CONFIG_SECRET_KEY). */
export const CONFIG_SECRETS = Symbol('CONFIG_SECRETS');
/** Nest token of the promotion settings (FORGEONE_PROMOTION_*). */
export const PROMOTION_SETTINGS = Symbol('PROMOTION_SETTINGS');
/** Nest token of the registry's test run settings (FORGEONE_TEST_*). */
export const TEST_RUN_SETTINGS = Symbol('TEST_RUN_SETTINGS');

/** Nest token of the registry's review settings (FORGEONE_REVIEW_*). */
export const REVIEW_SETTINGS = Symbol('REVIEW_SETTINGS');

const logger = createLogger('registry');

/** Bus adapter for `forgeone.cmd.registry.*`: validate the request shape, run the use case (which asks policy first), reply. */
@Controller()
export class RegistryCommandsController {
  private readonly ports: RegistryPorts;
  private readonly testRunPorts: TestRunPorts;

  constructor(
    events: JetStreamEventStore,
    artifacts: ArtifactStore,
    authz: AuthzClient,
    @Inject(SIGNATURE_POLICY) signaturePolicy: SignaturePolicy,
    @Inject(STORAGE_QUOTA) storageQuota: StorageQuotaSettings,
    @Inject(CONFIG_SECRETS) configSecrets: ConfigSecretBox | null,
    @Inject(PROMOTION_SETTINGS) promotion: PromotionSettings,
    bus: BusClient,
    @Inject(BUS_NAMES) names: Names,
    @Inject(TEST_RUN_SETTINGS) private readonly testRuns: TestRunSettings,
    @Inject(REVIEW_SETTINGS) reviewSettings: ReviewSettings,
  ) {
    this.ports = {
      events,
      artifacts,
      sha256: sha256Digest,
      authorizer: new PolicyAuthorizer(authz),
      signatures: new SignatureVerifierAdapter(events, artifacts),
      signaturePolicy,
      storageQuota,
      promotion,
      reviewSettings,
      ...(configSecrets ? { configSecrets } : {}),
    };
    this.testRunPorts = { events, authorizer: this.ports.authorizer, testVectors: new BusTestVectorRunner(bus, names), regressionFactor: testRuns.regressionFactor };
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.listEnvironments}`)
  listEnvironments(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    parseOrThrow(ListEnvironmentsRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the environment list request');
    return listEnvironments(this.ports, contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.showEnvironment}`)
  showEnvironment(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return showEnvironment(this.ports, parseOrThrow(EnvironmentNameRequestSchema, body, 'COMMAND.INVALID', 'the environment show request'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.setEnvironment}`)
  setEnvironment(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return setEnvironment(this.ports, parseOrThrow(SetEnvironmentRequestSchema, body, 'COMMAND.INVALID', 'the environment change'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.confirmEnvironment}`)
  confirmEnvironment(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return confirmEnvironment(this.ports, parseOrThrow(EnvironmentNameRequestSchema, body, 'COMMAND.INVALID', 'the environment confirmation'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.setPluginConfig}`)
  setPluginConfig(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return setPluginConfig(this.ports, parseOrThrow(SetPluginConfigRequestSchema, body, 'COMMAND.INVALID', 'the plugin configuration change'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.unsetPluginConfig}`)
  unsetPluginConfig(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return unsetPluginConfig(this.ports, parseOrThrow(UnsetPluginConfigRequestSchema, body, 'COMMAND.INVALID', 'the plugin configuration removal'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.listPluginConfig}`)
  listPluginConfig(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return listPluginConfig(this.ports, parseOrThrow(ListPluginConfigRequestSchema, body, 'COMMAND.INVALID', 'the plugin configuration list request'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.approvePluginConfig}`)
  approvePluginConfig(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return approvePluginConfig(this.ports, parseOrThrow(ApprovePluginConfigRequestSchema, body, 'COMMAND.INVALID', 'the configuration change approval'), contextOf(ctx));
  }

  @MessagePattern(`registry.${ENVIRONMENT_VERBS.rejectPluginConfig}`)
  rejectPluginConfig(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return rejectPluginConfig(this.ports, parseOrThrow(RejectPluginConfigRequestSchema, body, 'COMMAND.INVALID', 'the configuration change rejection'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REVIEW_VERBS.recordReview}`)
  recordReview(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return recordReview(this.ports, parseOrThrow(RecordReviewRequestSchema, body, 'COMMAND.INVALID', 'the review'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REVIEW_VERBS.recordIncident}`)
  recordIncident(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return recordIncident(this.ports, parseOrThrow(RecordIncidentRequestSchema, body, 'COMMAND.INVALID', 'the incident'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REVIEW_VERBS.recordRegulation}`)
  recordRegulation(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return recordRegulation(this.ports, parseOrThrow(RecordRegulationRequestSchema, body, 'COMMAND.INVALID', 'the regulation change'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REVIEW_VERBS.listReviews}`)
  listReviews(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return listReviews(this.ports, parseOrThrow(ListReviewsRequestSchema, body ?? {}, 'COMMAND.INVALID', 'the review list request'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REVIEW_VERBS.showReview}`)
  showReview(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return showReview(this.ports, parseOrThrow(ShowReviewRequestSchema, body, 'COMMAND.INVALID', 'the review status request'), contextOf(ctx));
  }

  @MessagePattern('registry.publish')
  publish(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(PublishPluginVersionRequestSchema, body, 'COMMAND.INVALID', 'the publish request');
    return publishPluginVersion(this.ports, request, contextOf(ctx));
  }

  @MessagePattern('registry.install')
  async install(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(InstallPluginRequestSchema, body, 'COMMAND.INVALID', 'the install request');
    const context = contextOf(ctx);
    return this.testAfterInstall(await installPlugin(this.ports, request, context), context, 'install');
  }

  @MessagePattern('registry.upgrade')
  async upgrade(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(UpgradePluginRequestSchema, body, 'COMMAND.INVALID', 'the upgrade request');
    const context = contextOf(ctx);
    return this.testAfterInstall(await upgradePlugin(this.ports, request, context), context, 'upgrade');
  }

  @MessagePattern('registry.rollback')
  rollback(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RollbackPluginRequestSchema, body, 'COMMAND.INVALID', 'the rollback request');
    return rollbackPlugin(this.ports, request, contextOf(ctx));
  }

  @MessagePattern(`registry.${REGISTRY_VERBS.approve}`)
  approve(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return approvePlugin(this.ports, parseOrThrow(ApprovePluginRequestSchema, body, 'COMMAND.INVALID', 'the approval'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REGISTRY_VERBS.reject}`)
  reject(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return rejectPlugin(this.ports, parseOrThrow(RejectPluginRequestSchema, body, 'COMMAND.INVALID', 'the rejection'), contextOf(ctx));
  }

  @MessagePattern(`registry.${REGISTRY_VERBS.promote}`)
  promote(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    return promotePlugin(this.ports, parseOrThrow(PromotePluginRequestSchema, body, 'COMMAND.INVALID', 'the promotion'), contextOf(ctx));
  }

  /** `plugin test NAME@VERSION --env ENV`: the version's vectors on the digest installed there, recorded as a test run. */
  @MessagePattern(`registry.${TEST_RUN_VERBS.testPlugin}`)
  test(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(TestPluginRequestSchema, body, 'COMMAND.INVALID', 'the test request');
    return testPlugin(this.testRunPorts, request, contextOf(ctx));
  }

  // An install or upgrade into an environment of FORGEONE_TEST_ON_INSTALL starts a test run once it is
  // appended, in the background: the install neither waits for it nor fails with it. The run is
  // authorised as the install was and recorded for the installer, whose credential it carries.
  private testAfterInstall(outcome: InstallationOutcome, context: CommandContext, authority: 'install' | 'upgrade'): InstallationOutcome {
    if ('dryRun' in outcome || !this.testRuns.onInstall.includes(outcome.environment)) return outcome;
    const request = { name: outcome.name, version: outcome.version, environment: outcome.environment };
    testPlugin(this.testRunPorts, request, { ...context, now: new Date() }, 'install', authority).then(
      (run) => logger.info({ plugin: run.name, version: run.version, environment: run.environment, runId: run.runId, passed: run.passed, flagged: run.flagged }, 'test run after install recorded'),
      (error: unknown) => logger.warn({ err: error, plugin: request.name, version: request.version, environment: request.environment }, 'test run after install did not run'),
    );
    return outcome;
  }

  @MessagePattern('registry.remove')
  remove(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(RemovePluginRequestSchema, body, 'COMMAND.INVALID', 'the remove request');
    return removePlugin(this.ports, request, contextOf(ctx));
  }

  @MessagePattern(`registry.${WATCH_VERBS.reportDropRejected}`)
  reportDropRejected(@Payload() body: unknown, @Ctx() ctx: BusContext) {
    const request = parseOrThrow(ReportDropRejectedRequestSchema, body, 'COMMAND.INVALID', 'the rejected drop report');
    return reportDropRejected(this.ports, request, contextOf(ctx));
  }
}

// Only the credential (and, for counting failed authentications, the reported source) is taken from
// the request; who the caller is and which tenant it acts in come from policy.
function contextOf(ctx: BusContext): CommandContext {
  const source = ctx.source;
  return { credential: ctx.credential, now: new Date(), newId: randomUUID, ...(source ? { source } : {}) };
}
