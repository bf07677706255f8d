// Error classes of the slashing toolkit: one base class, one subclass per cause.

/** Base class of every error thrown by `src/slashing`. */
export class SlashingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A piece of evidence (capsule, cfrag, key, signature) has the wrong length or is not hex. */
export class EvidenceFormatError extends SlashingError {}

/** A node was asked to sign a cfrag that does not verify under the keys it would attest. */
export class UnverifiedCFragError extends SlashingError {}

/** An evidence JSON file is unreadable, of an unknown version, or misses a field. */
export class EvidenceFileError extends SlashingError {}
