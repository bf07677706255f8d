// The values an on-chain checker needs to judge one cfrag: every point of the three proof equations in
// affine form (so the contract need not decompress), the products it cannot afford to compute, the
// challenge h, and the kfrag validity message with its hash, signature and recovery bit. Built from a
// possibly unverified cfrag: evidence against a cheating node must exist precisely when verify fails.
import { affine, mulPublic, Point, pointToBytes, U } from "./curve";
import { sha256 } from "./hash";
import type { Capsule } from "./capsule";
import { CapsuleFrag, VerifiedCapsuleFrag } from "./cfrag";
import type { PublicKey } from "./keys";

/** An affine point with its 33-byte compressed form. */
export interface EvidencePoint {
  x: bigint;
  y: bigint;
  compressed: Uint8Array;
}

function evidencePoint(p: Point): EvidencePoint {
  return { ...affine(p), compressed: pointToBytes(p).slice() };
}

/** umbral's second generator U, hard-coded by on-chain checkers. */
export const UMBRAL_U: EvidencePoint = evidencePoint(U);

export class ReencryptionEvidence {
  /** E of the capsule. */
  readonly e: EvidencePoint;
  /** z·E. */
  readonly ez: EvidencePoint;
  readonly e1: EvidencePoint;
  /** h·e1. */
  readonly e1h: EvidencePoint;
  readonly e2: EvidencePoint;
  /** V of the capsule. */
  readonly v: EvidencePoint;
  /** z·V. */
  readonly vz: EvidencePoint;
  readonly v1: EvidencePoint;
  /** h·v1. */
  readonly v1h: EvidencePoint;
  readonly v2: EvidencePoint;
  /** z·U. */
  readonly uz: EvidencePoint;
  /** U1, the kfrag commitment rk·U. */
  readonly u1: EvidencePoint;
  /** h·U1. */
  readonly u1h: EvidencePoint;
  readonly u2: EvidencePoint;
  /** The proof's challenge, hash-to-scalar(CFRAG_VERIFICATION; E, e1, e2, V, v1, v2, U, U1, u2). */
  readonly h: bigint;
  /** The proof's response scalar z. */
  readonly z: bigint;
  /** id ‖ U1 ‖ P ‖ 01 ‖ pk_A ‖ 01 ‖ pk_B: what the delegator signed for the receiver. */
  readonly kfragValidityMessage: Uint8Array;
  /** SHA-256 of `kfragValidityMessage`: the ECDSA digest. */
  readonly kfragValidityMessageHash: Uint8Array;
  /** The cfrag's kfrag signature, r ‖ s. */
  readonly kfragSignature: Uint8Array;
  /**
   * Recovery bit v (ecrecover's 27 + v) under which the signature recovers to the verifying key; null if
   * neither does, or if s is high (umbral verification rejects high-s signatures, so such a cfrag fails).
   */
  readonly kfragSignatureV: 0 | 1 | null;
  /** The capsule's 98-byte simple form. */
  readonly capsuleSimple: Uint8Array;
  /** The cfrag's 359-byte simple form. */
  readonly cfragSimple: Uint8Array;

  constructor(
    capsule: Capsule,
    cfrag: CapsuleFrag | VerifiedCapsuleFrag,
    verifyingPk: PublicKey,
    delegatingPk: PublicKey,
    receivingPk: PublicKey,
  ) {
    const c = cfrag instanceof VerifiedCapsuleFrag ? cfrag.cfrag : cfrag;
    const h = c.challenge(capsule);
    // Everything here is public (it is going on chain), so variable-time multiplication is fine.
    this.e = evidencePoint(capsule.e);
    this.ez = evidencePoint(mulPublic(capsule.e, c.z));
    this.e1 = evidencePoint(c.e1);
    this.e1h = evidencePoint(mulPublic(c.e1, h));
    this.e2 = evidencePoint(c.e2);
    this.v = evidencePoint(capsule.v);
    this.vz = evidencePoint(mulPublic(capsule.v, c.z));
    this.v1 = evidencePoint(c.v1);
    this.v1h = evidencePoint(mulPublic(c.v1, h));
    this.v2 = evidencePoint(c.v2);
    this.uz = evidencePoint(mulPublic(U, c.z));
    this.u1 = evidencePoint(c.u1);
    this.u1h = evidencePoint(mulPublic(c.u1, h));
    this.u2 = evidencePoint(c.u2);
    this.h = h;
    this.z = c.z;
    this.kfragValidityMessage = c.kfragValidityMessage(delegatingPk, receivingPk);
    this.kfragValidityMessageHash = sha256(this.kfragValidityMessage);
    this.kfragSignature = c.kfragSignature.toBEBytes();
    this.kfragSignatureV = c.kfragSignature.recoveryBit(verifyingPk, this.kfragValidityMessageHash);
    this.capsuleSimple = capsule.toBytesSimple();
    this.cfragSimple = c.toBytesSimple();
  }

  /** Same as `new ReencryptionEvidence(...)`. */
  static fromCapsuleFrag(
    capsule: Capsule,
    cfrag: CapsuleFrag | VerifiedCapsuleFrag,
    verifyingPk: PublicKey,
    delegatingPk: PublicKey,
    receivingPk: PublicKey,
  ): ReencryptionEvidence {
    return new ReencryptionEvidence(capsule, cfrag, verifyingPk, delegatingPk, receivingPk);
  }

  /** True if the three proof equations hold: z·E = h·e1 + e2, z·V = h·v1 + v2, z·U = h·U1 + u2. */
  proofHolds(): boolean {
    const eq = (a: EvidencePoint, b: EvidencePoint, c: EvidencePoint): boolean =>
      pointOf(a).equals(pointOf(b).add(pointOf(c)));
    return eq(this.ez, this.e1h, this.e2) && eq(this.vz, this.v1h, this.v2) && eq(this.uz, this.u1h, this.u2);
  }
}

function pointOf(p: EvidencePoint): Point {
  return Point.fromAffine({ x: p.x, y: p.y });
}
