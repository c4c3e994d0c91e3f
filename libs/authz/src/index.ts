export {
  API_TOKEN_PREFIX,
  constantTimeEquals,
  generateApiToken,
  hashTokenSecret,
  parseApiToken,
  tokenSecretMatches,
  type ApiTokenParts,
  type IssuedApiToken,
} from './api-token.codec.js';
export {
  MIN_SERVICE_KEY_LENGTH,
  SERVICE_CREDENTIAL_PREFIX,
  looksLikeServiceCredential,
  readOwnServiceCredential,
  readServiceKey,
  serviceCredential,
  servicePrincipalId,
  verifyServiceCredential,
} from './service-credential.js';
export { ACTION_RESOURCE_TYPES, CEDAR_NAMESPACE, FORGEONE_CEDAR_SCHEMA, type ResourceType } from './cedar-schema.js';
export { DEFAULT_POLICIES, defaultPolicyText } from './default-policies.js';
export { DEFAULT_CLASSIFICATION, contextFor, entitiesFor, type AuthzPrincipal, type AuthzResource } from './authz-entities.js';
export {
  CedarPolicyEngine,
  POLICY_ID_PATTERN,
  policySetSha256,
  splitPolicyText,
  type ActivePolicySet,
  type AuthorizationRequest,
  type AuthorizationResult,
  type PolicySetInput,
  type PrepareOptions,
  type PreparedPolicySet,
} from './cedar-policy.engine.js';
export { BOOTSTRAP_PRINCIPAL, BOOTSTRAP_TOKEN_AGGREGATE_ID, PLATFORM_TENANT, TokenRegistry, isActive, type TokenRecord } from './token.registry.js';
export {
  BOOTSTRAP_IDENTITY,
  CredentialVerifier,
  type AuthenticatedIdentity,
  type Authentication,
  type AuthenticationFailureCode,
  type CredentialVerifierOptions,
} from './credential.verifier.js';
export {
  AuthenticationFailureTally,
  OTHER_SOURCES,
  type AuthenticationFailureTallyOptions,
  type CountedFailures,
  type FailureOrigin,
} from './authentication-failure.tally.js';
export {
  authenticationFailureSettingsFromEnv,
  DEFAULT_AUTHENTICATION_FAILURE_SETTINGS,
  type AuthenticationFailureSettings,
} from './authentication-failure.settings.js';
