export type { ApplyDefaultPolicySet, ApplyPolicySet, PolicySetCommand, PreparedPolicies } from './policy-set/policy-set.commands.js';
export {
  POLICY_SET_ID,
  decidePolicySet,
  evolvePolicySet,
  initialPolicySetState,
  policySetDecider,
  type PolicySetEvent,
  type PolicySetState,
} from './policy-set/policy-set.decider.js';
export type { ApiTokenCommand, IssueApiToken, RevokeApiToken } from './api-token/api-token.commands.js';
export { apiTokenDecider, decideApiToken, evolveApiToken, initialApiTokenState, type ApiTokenState } from './api-token/api-token.decider.js';
export type { CallRecordingCommand, SetCallRecording } from './call-recording/call-recording.commands.js';
export { callRecordingDecider, decideCallRecording } from './call-recording/call-recording.decider.js';
