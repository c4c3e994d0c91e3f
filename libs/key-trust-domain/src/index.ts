export type { KeyCommand, RevokeKey, TrustKey } from './key/key.commands.js';
export { evolveTrustStore, initialTrustStore, trustStoreOf, type KeyEventLike, type TrustedKey, type TrustStore } from './key/key.state.js';
export { decideKeyCommand, keyDecider } from './key/key.decider.js';
export { keyAggregateId } from './key/key.identity.js';
