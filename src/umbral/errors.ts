// Error classes of the Umbral module: one base class, one subclass per distinct cause, so callers can
// `instanceof`-switch on what went wrong and read the message for the values involved.

/** Base class of every error thrown by `src/umbral`. */
export class UmbralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bytes that do not decode to the expected object (length, prefix, point off the curve, scalar range…). */
export class DeserializationError extends UmbralError {}

/** A capsule whose self-check `s·G = V + h·E` fails: it was tampered with or built wrongly. */
export class CapsuleVerificationError extends UmbralError {}

/** Why a key fragment failed `KeyFrag.verify`, named as in umbral-pre. */
export type KeyFragVerificationFailure =
  "IncorrectCommitment" | "DelegatingKeyNotProvided" | "ReceivingKeyNotProvided" | "IncorrectSignature";

/** A key fragment that does not verify against the given keys. */
export class KeyFragVerificationError extends UmbralError {
  constructor(
    readonly reason: KeyFragVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A capsule fragment that does not verify; see the two subclasses for the cause. */
export class CapsuleFragVerificationError extends UmbralError {}

/** The cfrag's copy of the kfrag signature does not verify over (id, U1, P, pk_A, pk_B). */
export class KeyFragSignatureError extends CapsuleFragVerificationError {}

/** The cfrag's zero-knowledge re-encryption proof fails: e1, v1 or U1 are not the same rk's multiples. */
export class ReencryptionProofError extends CapsuleFragVerificationError {}

/** The symmetric layer refused the ciphertext (too short, tampered, wrong key or wrong capsule). */
export class DecryptionError extends UmbralError {}

/** The plaintext is too large for XChaCha20-Poly1305. */
export class EncryptionError extends UmbralError {}

/** `generateKFrags` asked for a threshold of 0, or above the number of shares. */
export class InvalidThresholdError extends UmbralError {
  constructor(
    readonly threshold: number,
    readonly shares: number,
  ) {
    super(`invalid threshold ${threshold} for ${shares} shares: need 1 <= threshold <= shares`);
  }
}

/** Opening a capsule with capsule fragments failed; the subclasses say why. */
export class OpenReencryptedError extends UmbralError {}

/** `decryptReencrypted` got an empty list of capsule fragments. */
export class NoCapsuleFragsError extends OpenReencryptedError {}

/** Capsule fragments come from different `generateKFrags` calls (different precursors). */
export class MismatchedCapsuleFragsError extends OpenReencryptedError {}

/** The same capsule fragment (same kfrag id) appears more than once. */
export class RepeatedCapsuleFragsError extends OpenReencryptedError {}

/**
 * The combined fragments do not open the capsule: fewer fragments than the policy's threshold, fragments
 * re-encrypted from another capsule, or fragments that were never verified.
 */
export class ReencryptionValidationError extends OpenReencryptedError {}
