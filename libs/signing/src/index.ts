export { pae, decodeStrictBase64, encodeBase64, sha256Hex, sha256Digest, hexOfDigest } from './dsse.js';
export { sha256File } from './file-digest.js';
export { generateKeyPair, keyIdOf, parsePublicKey, loadPrivateKey, type GeneratedKeyPair, type PrivateKeyInput } from './keys.js';
export { buildPluginStatement, pluginManifestDigest, type BuildPluginStatementInput } from './plugin-statement.js';
export { signEnvelope, addSignature, parseEnvelope, serializeEnvelope, readEnvelopeStatement } from './envelope.js';
export {
  initialTrustStore,
  evolveTrustStore,
  trustStoreOf,
  decideKeyCommand,
  scopeMatches,
  type TrustStore,
  type TrustedKey,
  type KeyEventLike,
  type KeyCommand,
} from './trust-store.js';
export {
  verifyPluginEnvelope,
  checkEnvelopeStructure,
  type VerifyPluginEnvelopeInput,
  type VerificationResult,
  type VerificationAccepted,
  type VerificationRefused,
} from './verify-plugin-envelope.js';
export { signatureResultAggregate, signatureResultEvent, signatureError, type SignatureCheckContext } from './signature-result.event.js';
export { loadTrustStore, keyAggregateId, type AggregateEventReader } from './load-trust-store.js';
export { InMemorySigningKeyProvider, signingKeyProviderFromEnv, type SigningKeyProvider } from './signing-key.provider.js';
export { verifyPluginOffline, type VerifyPluginOfflineInput } from './verify-plugin-offline.js';
export {
  EMPTY_TREE_ROOT,
  leafHash,
  nodeHash,
  splitPoint,
  rangeHash,
  rangeNodes,
  inclusionRanges,
  consistencyRanges,
  rootNodes,
  rootFromNodes,
  nodesOfRanges,
  nodesCompletedBy,
  merkleTreeHash,
  inclusionPath,
  consistencyProof,
  rootFromInclusionPath,
  verifyInclusion,
  verifyConsistency,
  ProofVerificationError,
  type NodeId,
  type NodeLookup,
  type LeafRange,
} from './transparency/merkle-tree.js';
export {
  NoteVerificationError,
  ed25519PublicKeyBytes,
  checkKeyName,
  noteKeyHash,
  signNote,
  openNote,
  checkpointText,
  parseCheckpointText,
  openCheckpoint,
  type CheckpointBody,
} from './transparency/signed-note.js';
export * from './config-secrets.js';
