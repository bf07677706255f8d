// Public API of the TypeScript Umbral (byte-compatible with rust-umbral 0.10 / @nucypher/umbral-pre 0.10).
export { SecretKey, PublicKey, SecretKeyFactory } from "./keys";
export { Signer, Signature } from "./signing";
export { Capsule, CAPSULE_SIMPLE_SIZE } from "./capsule";
export { KeyFrag, VerifiedKeyFrag } from "./kfrag";
export { CapsuleFrag, VerifiedCapsuleFrag, CFRAG_SIMPLE_SIZE } from "./cfrag";
export { ReencryptionEvidence, UMBRAL_U, type EvidencePoint } from "./evidence";
export {
  encrypt,
  decryptOriginal,
  generateKFrags,
  issueKFrags,
  reencrypt,
  decryptReencrypted,
  type KFragOptions,
} from "./pre";
export { CURVE_ORDER } from "./curve";
export {
  UmbralError,
  DeserializationError,
  CapsuleVerificationError,
  KeyFragVerificationError,
  type KeyFragVerificationFailure,
  CapsuleFragVerificationError,
  KeyFragSignatureError,
  ReencryptionProofError,
  DecryptionError,
  EncryptionError,
  InvalidThresholdError,
  OpenReencryptedError,
  NoCapsuleFragsError,
  MismatchedCapsuleFragsError,
  RepeatedCapsuleFragsError,
  ReencryptionValidationError,
} from "./errors";
