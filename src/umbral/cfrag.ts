// Capsule fragments: a proxy's re-encryption (e1 = rk·E, v1 = rk·V) with its Chaum–Pedersen style proof
// (e2, v2, u2, z) that the same rk is behind e1, v1 and the kfrag commitment U1, plus the kfrag's
// signature for the receiver. Re-encryption, verification and both encodings.
import { randomBytes } from "@noble/hashes/utils";
import { bytesToNumberBE } from "@noble/curves/abstract/utils";
import {
  bytesEqual,
  cacheCompressed,
  CURVE_ORDER,
  Fn,
  linCombXModN,
  mulSecret,
  mulSecretEach,
  POINT_SIZE,
  pointFromBytes,
  pointToBytes,
  randomScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
  U,
  type Point,
} from "./curve";
import { pack, splitFixed, Unpacker } from "./encoding";
import { KeyFragSignatureError, ReencryptionProofError } from "./errors";
import { concat, hashToCfragVerification, kfragSignatureMessage, sha256 } from "./hash";
import type { Capsule } from "./capsule";
import type { PublicKey } from "./keys";
import { KFRAG_ID_SIZE, type KeyFrag } from "./kfrag";
import { ecdsaTerms, Signature, SIGNATURE_SIZE } from "./signing";

export const CFRAG_SIMPLE_SIZE = 7 * POINT_SIZE + KFRAG_ID_SIZE + SCALAR_SIZE + SIGNATURE_SIZE;
const SIMPLE_LAYOUT = [
  POINT_SIZE, // e1
  POINT_SIZE, // v1
  KFRAG_ID_SIZE, // kfrag id
  POINT_SIZE, // precursor
  POINT_SIZE, // e2
  POINT_SIZE, // v2
  POINT_SIZE, // U1 (kfrag commitment)
  POINT_SIZE, // u2 (kfrag proof of knowledge)
  SCALAR_SIZE, // z
  SIGNATURE_SIZE, // kfrag signature for the receiver
];

export class CapsuleFrag {
  /** @internal Use `reencrypt` or `fromBytes`. */
  constructor(
    readonly e1: Point,
    readonly v1: Point,
    readonly kfragId: Uint8Array,
    readonly precursor: Point,
    readonly e2: Point,
    readonly v2: Point,
    readonly u1: Point,
    readonly u2: Point,
    readonly z: bigint,
    readonly kfragSignature: Signature,
  ) {}

  /** @internal The challenge h of the proof for this cfrag and capsule. */
  challenge(capsule: Capsule): bigint {
    return hashToCfragVerification(capsule.e, this.e1, this.e2, capsule.v, this.v1, this.v2, this.u1, this.u2);
  }

  /** @internal The message the kfrag's receiver signature covers (both keys always included). */
  kfragValidityMessage(delegatingPk: PublicKey, receivingPk: PublicKey): Uint8Array {
    return kfragSignatureMessage(
      this.kfragId,
      this.u1,
      this.precursor,
      delegatingPk.compressed,
      receivingPk.compressed,
    );
  }

  /**
   * Checks the kfrag signature over (id, U1, P, pk_A, pk_B), then z·E = e2 + h·e1, z·V = v2 + h·v1,
   * z·U = u2 + h·U1. Throws `KeyFragSignatureError` or `ReencryptionProofError`.
   */
  verify(
    capsule: Capsule,
    verifyingPk: PublicKey,
    delegatingPk: PublicKey,
    receivingPk: PublicKey,
  ): VerifiedCapsuleFrag {
    const message = this.kfragValidityMessage(delegatingPk, receivingPk);
    const signatureFailed = () =>
      new KeyFragSignatureError(
        "CapsuleFrag's kfrag signature does not verify under the given verifying, delegating and receiving keys",
      );
    const ecdsa = ecdsaTerms(verifyingPk, sha256(message), this.kfragSignature);
    if (ecdsa === null) throw signatureFailed();
    const h = this.challenge(capsule);
    // All scalars here are public: variable-time arithmetic is fine. The three proof equations
    // D_1 = z·E − h·e1 − e2, D_2 = z·V − h·v1 − v2, D_3 = z·U − h·U1 − u2 and the kfrag signature
    // (x(W) mod n = r for W = u_1·G + u_2·Q) are checked at once: x(ρ1·D_1 + ρ2·D_2 + ρ3·D_3 + W) mod n = r,
    // one multi-scalar product with one run of 128 doublings, fresh random 128-bit ρ_i. If every D_i = O this
    // is exactly the ECDSA check. If some D_j ≠ O, fixing the other weights, ρ_j·D_j + (rest) takes a
    // different value for each ρ_j and at most 4 points have x ≡ r (mod n), so a false proof passes with
    // probability ≤ 2^-126 whatever the signature. On failure the signature is checked alone to name the
    // cause.
    const rho = batchWeights();
    const { z } = this;
    const mh = CURVE_ORDER - h;
    const points = [...ecdsa.points];
    const scalars = [...ecdsa.scalars];
    const equations: [Point, Point, Point][] = [
      [capsule.e, this.e1, this.e2],
      [capsule.v, this.v1, this.v2],
      [U, this.u1, this.u2],
    ];
    equations.forEach(([base, product, nonce], i) => {
      points.push(base, product, nonce);
      scalars.push(Fn.mul(rho[i], z), Fn.mul(rho[i], mh), CURVE_ORDER - rho[i]);
    });
    if (linCombXModN(points, scalars, ecdsa.r)) return new VerifiedCapsuleFrag(this);
    if (!linCombXModN(ecdsa.points, ecdsa.scalars, ecdsa.r)) throw signatureFailed();
    throw new ReencryptionProofError("CapsuleFrag re-encryption proof does not hold for this capsule");
  }

  /** Trusts the cfrag without checking it. `decryptReencrypted` still validates the combination. */
  skipVerification(): VerifiedCapsuleFrag {
    return new VerifiedCapsuleFrag(this);
  }

  /** MessagePack: [e1, v1, id, P, [e2, v2, U1, u2, z, kfrag_signature]], 381 bytes. */
  toBytes(): Uint8Array {
    const f = this.fields();
    return pack([f[0], f[1], f[2], f[3], f.slice(4)]);
  }

  static fromBytes(bytes: Uint8Array): CapsuleFrag {
    const r = new Unpacker(bytes, "CapsuleFrag");
    r.array(5);
    const head = [
      r.bin(POINT_SIZE, "e1"),
      r.bin(POINT_SIZE, "v1"),
      r.bin(KFRAG_ID_SIZE, "kfrag_id"),
      r.bin(POINT_SIZE, "precursor"),
    ];
    r.array(6);
    const proof = [
      r.bin(POINT_SIZE, "proof.e2"),
      r.bin(POINT_SIZE, "proof.v2"),
      r.bin(POINT_SIZE, "proof.kfrag_commitment"),
      r.bin(POINT_SIZE, "proof.kfrag_pok"),
      r.bin(SCALAR_SIZE, "proof.signature"),
      r.bin(SIGNATURE_SIZE, "proof.kfrag_signature"),
    ];
    r.end();
    return CapsuleFrag.fromFields([...head, ...proof]);
  }

  /** e1 ‖ v1 ‖ id ‖ P ‖ e2 ‖ v2 ‖ U1 ‖ u2 ‖ z ‖ kfrag_signature, 359 bytes: the on-chain form. */
  toBytesSimple(): Uint8Array {
    return concat(...this.fields());
  }

  static fromBytesSimple(bytes: Uint8Array): CapsuleFrag {
    return CapsuleFrag.fromFields(splitFixed(bytes, SIMPLE_LAYOUT, "CapsuleFrag (simple)"));
  }

  private fields(): Uint8Array[] {
    return [
      pointToBytes(this.e1),
      pointToBytes(this.v1),
      this.kfragId,
      pointToBytes(this.precursor),
      pointToBytes(this.e2),
      pointToBytes(this.v2),
      pointToBytes(this.u1),
      pointToBytes(this.u2),
      scalarToBytes(this.z),
      this.kfragSignature.toBEBytes(),
    ];
  }

  private static fromFields(f: Uint8Array[]): CapsuleFrag {
    return new CapsuleFrag(
      pointFromBytes(f[0], "CapsuleFrag.e1"),
      pointFromBytes(f[1], "CapsuleFrag.v1"),
      f[2].slice(),
      pointFromBytes(f[3], "CapsuleFrag.precursor"),
      pointFromBytes(f[4], "CapsuleFrag.e2"),
      pointFromBytes(f[5], "CapsuleFrag.v2"),
      pointFromBytes(f[6], "CapsuleFrag.kfrag_commitment"),
      pointFromBytes(f[7], "CapsuleFrag.kfrag_pok"),
      scalarFromBytes(f[8], "CapsuleFrag.z"),
      Signature.fromBEBytes(f[9]),
    );
  }

  equals(other: CapsuleFrag): boolean {
    return bytesEqual(this.toBytesSimple(), other.toBytesSimple());
  }

  toString(): string {
    return `CapsuleFrag:${Buffer.from(this.kfragId).toString("hex").slice(0, 16)}`;
  }
}

/** A cfrag that passed `verify` (or was explicitly trusted): what `decryptReencrypted` takes. */
export class VerifiedCapsuleFrag {
  /** @internal */
  constructor(readonly cfrag: CapsuleFrag) {}

  toBytes(): Uint8Array {
    return this.cfrag.toBytes();
  }

  toBytesSimple(): Uint8Array {
    return this.cfrag.toBytesSimple();
  }

  unverify(): CapsuleFrag {
    return this.cfrag;
  }

  equals(other: VerifiedCapsuleFrag): boolean {
    return this.cfrag.equals(other.cfrag);
  }

  toString(): string {
    return `Verified${this.cfrag.toString()}`;
  }
}

/** Three independent uniformly random weights in [1, 2^128) for the batched proof check. */
function batchWeights(): bigint[] {
  const b = randomBytes(48);
  const rho = [0, 16, 32].map((o) => bytesToNumberBE(b.subarray(o, o + 16)));
  // Zero would drop an equation; redraw (probability < 2^-126).
  return rho.includes(0n) ? batchWeights() : rho;
}

/** @internal Re-encryption by a proxy holding `kfrag`; rk and the nonce t are secret. */
export function reencryptWith(capsule: Capsule, kfrag: KeyFrag): CapsuleFrag {
  const rk = kfrag.rk;
  for (;;) {
    const t = randomScalar();
    // E and V each times rk and t: one table per capsule point for both scalars.
    const [[e1, e2], [v1, v2]] = mulSecretEach([capsule.e, capsule.v], [rk, t]);
    const u2 = mulSecret(U, t);
    // All five are published in the cfrag: encode them with one inversion before hashing.
    cacheCompressed([e1, v1, e2, v2, u2]);
    const h = hashToCfragVerification(capsule.e, e1, e2, capsule.v, v1, v2, kfrag.commitment, u2);
    const z = Fn.add(Fn.mul(rk, h), t);
    // z = 0 (probability ~2^-256) could not be serialized; a new nonce gives a new proof.
    if (z === 0n) continue;
    return new CapsuleFrag(
      e1,
      v1,
      kfrag.id,
      kfrag.precursor,
      e2,
      v2,
      kfrag.commitment,
      u2,
      z,
      kfrag.signatureForReceiver,
    );
  }
}
