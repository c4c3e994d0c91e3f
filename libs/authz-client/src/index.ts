export {
  AuthzClient,
  createAuthzClient,
  authzInvalidationSubjects,
  type AuthzClientOptions,
  type AuthzClientStats,
  type AuthzContext,
  type ResourceRef,
} from './authz.client.js';
export { authzClientProvider, type AuthzClientProviderOptions } from './authz-client.provider.js';
export { authzClientSettingsFromEnv, DEFAULT_AUTHZ_CACHE_TTL_MS, DEFAULT_AUTHZ_TIMEOUT_MS, type AuthzClientSettings } from './authz-client.settings.js';
export {
  startTestAuthzResponder,
  type TestAuthzResponder,
  type TestAuthzResponderOptions,
  type TestPrincipal,
} from './testing/authz-test.responder.js';
