import type { ENVELOPE_REASONS, ReviewSettings, SealedSecret, SignatureMode, SignaturePolicy, SignatureReason, SignatureStage, StorageQuotaSettings, StoredSignature } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { PluginKey } from '../plugin/plugin.identity.js';

/** What a transport hands a use case: the caller's credential, the time and an id source. */
export interface CommandContext {
  /** The caller's credential exactly as it arrived; the authorizer decides who that is. */
  readonly credential: string | undefined;
  readonly now: Date;
  /** Generates event ids; the adapter supplies a random or time-ordered id source. */
  readonly newId: () => string;
  /** Where the request came from as the transport reports it (`http 203.0.113.7`); policy counts failed authentications by it. */
  readonly source?: string;
}

/** Who asked, when, and under which ids: everything a use case may not invent itself. */
export interface CommandMetadata {
  readonly actor: string;
  readonly tenant: string;
  readonly now: Date;
  readonly newId: () => string;
}

/** The registry actions policy decides on. */
export type RegistryAction =
  | 'publish'
  | 'publish-private-egress'
  | 'install'
  | 'upgrade'
  | 'rollback'
  | 'remove'
  | 'read-plugin-config'
  | 'configure-plugin'
  | 'approve'
  | 'promote'
  | 'emergency-change'
  | 'test'
  | 'review'
  | 'read';

/** The environment actions policy decides on (resource: the Environment of the caller's tenant). */
export type EnvironmentAction = 'read-environment' | 'configure-environment' | 'report-drop-rejected';

/** Actions asked on the caller's Tenant as a whole (an {@link EnvironmentAuthorizationRequest} without environment). */
export type TenantAction = 'record-incident' | 'record-regulation' | 'read' | 'configure-siem' | 'read-audit';

/** May the holder of `credential` perform `action` on environment `environment` of their own tenant? */
export interface EnvironmentAuthorizationRequest {
  readonly credential: string | undefined;
  readonly action: EnvironmentAction | TenantAction;
  /** Absent: the tenant's environments as a whole (listing them), and the tenant actions. */
  readonly environment?: string;
  readonly source?: string;
}

/** May the holder of `credential` perform `action` on the plugin `plugin` of their own tenant? */
export interface AuthorizationRequest {
  readonly credential: string | undefined;
  readonly action: RegistryAction;
  readonly plugin: string;
  /** The environment an installation command acts in. */
  readonly environment?: string;
  /** Where the request came from (see {@link CommandContext.source}). */
  readonly source?: string;
}

/** The authenticated caller: a pseudonymous id and the tenant it acts in. */
export interface Principal {
  readonly id: string;
  readonly tenant: string;
}

/**
 * Authenticates and authorises a command before it is decided. Resolves with the principal when
 * allowed; rejects with a ForgeOneError (AUTH.*, AUTHZ.DENIED, AUTHZ.UNAVAILABLE) otherwise.
 */
export interface Authorizer {
  authorize(request: AuthorizationRequest): Promise<Principal>;
  /** The same for an action on an Environment resource. */
  authorizeEnvironment(request: EnvironmentAuthorizationRequest): Promise<Principal>;
}

/**
 * Seals a configuration secret under the platform's configuration key (AES-256-GCM), bound to where
 * it belongs, so the stream never holds it in clear. An adapter, so the domain holds no crypto.
 */
export interface ConfigSecretSealer {
  seal(plaintext: string, binding: string): SealedSecret;
}

export interface AppendedEvent {
  readonly eventId: string;
  readonly sequence: number;
}

/** Content-addressed artifact storage. */
export interface ArtifactStorage {
  put(bytes: Uint8Array): Promise<{ digest: string; sizeBytes: number; created: boolean }>;
}

/** sha256 as `sha256:<hex>`; an adapter provides it so the domain stays free of node:crypto. */
export type Sha256 = (bytes: Uint8Array) => string;

/** One verification: a version as the registry recorded it at publish, where and how it is judged. */
export interface SignatureCheck {
  readonly plugin: PluginKey;
  readonly version: string;
  /** The module and manifest digests recorded at publish; the stored module must still hash to `digest`. */
  readonly digest: string;
  readonly manifestDigest: string;
  /** The stored envelope's digest and its signing time (the publish time); null for an unsigned version. */
  readonly signature: StoredSignature | null;
  /** null at publish, which judges no environment. */
  readonly environment: string | null;
  readonly stage: SignatureStage;
  readonly mode: SignatureMode;
  /** Distinct trusted keys required. */
  readonly threshold: number;
}

/** What a verification found; `reason` is also the error code a strict refusal answers with. */
export type SignatureOutcome<Reason extends SignatureReason = SignatureReason> =
  | { readonly ok: true; readonly reason: null; readonly message: string }
  | { readonly ok: false; readonly reason: Reason; readonly message: string; readonly details: Readonly<Record<string, unknown>> };

/**
 * Signature verification (docs/signing.md) behind a port, so the domain holds no crypto: the
 * adapter reads the envelope and the module from artifact storage and the tenant's trust store
 * from the event stream, fresh on every call, so a revocation applies to the next command.
 */
export interface SignatureVerifier {
  /** Size limits, JSON, DSSE schema and base64 of an envelope about to be published; no key is consulted. */
  checkEnvelope(envelope: Uint8Array): SignatureOutcome<(typeof ENVELOPE_REASONS)[number]>;
  /**
   * Verifies and, with `record`, records the result as `signature.verified` or `signature.rejected`
   * (flagged when audit mode accepts a failure) before it answers: every verification a command acts
   * on is on record. A dry run verifies the same way without `record`, since it acts on nothing.
   */
  verify(check: SignatureCheck, metadata: CommandMetadata, options: { readonly record: boolean }): Promise<SignatureOutcome>;
}

/** Whether a plugin must be reviewed before a promotion may take it into `environment`. */
export interface PromotionReviewStatus {
  readonly required: boolean;
  /** Why, for the refusal's message; null when no review is required. */
  readonly reason: string | null;
}

/**
 * The review status a promotion consults (its `PROMOTION.REVIEW_REQUIRED` gate): by default `reviewStatusReader`,
 * from the plugin's review, incident, regulation and emergency-change events.
 */
export interface ReviewStatusReader {
  reviewStatus(plugin: PluginKey, environment: string): Promise<PromotionReviewStatus>;
}

/** The limits a promotion judges test runs and call records by (registry configuration). */
export interface PromotionSettings {
  /** A test run older than this does not count (FORGEONE_PROMOTION_TEST_RUN_MAX_AGE). */
  readonly testRunMaxAgeSeconds: number;
  /** Share of failed calls of the version in the source above which it does not soak (FORGEONE_PROMOTION_MAX_FAILURE_RATE). */
  readonly maxFailureRate: number;
}

export const DEFAULT_PROMOTION_SETTINGS: PromotionSettings = { testRunMaxAgeSeconds: 7 * 86_400, maxFailureRate: 0.05 };

export interface RegistryPorts {
  /** The event stream; plugin aggregates are decided on it through the shared command handler. */
  readonly events: EventStore;
  readonly artifacts: ArtifactStorage;
  readonly sha256: Sha256;
  readonly authorizer: Authorizer;
  readonly signatures: SignatureVerifier;
  /**
   * First-start signature mode and threshold per environment (FORGEONE_SIGNATURE_POLICY): what an
   * environment holds until its settings are changed through the platform (the `environment` aggregate).
   */
  readonly signaturePolicy: SignaturePolicy;
  /** Absent when this registry was given no configuration key: setting a secret is then refused. */
  readonly configSecrets?: ConfigSecretSealer;
  /** Plugin storage quota settings (FORGEONE_STORAGE_*): a manifest asking above the cap is refused at publish. */
  readonly storageQuota: StorageQuotaSettings;
  /** Absent: DEFAULT_PROMOTION_SETTINGS. */
  readonly promotion?: PromotionSettings;
  /** Absent: `reviewStatusReader` over the event store. */
  readonly reviews?: ReviewStatusReader;
  /** Review interval, grace, environments and the upgrade block (FORGEONE_REVIEW_*); absent: the defaults. */
  readonly reviewSettings?: ReviewSettings;
}
