// ECDSA over SHA-256(message), low-S, 64-byte r ‖ s: umbral-pre's `Signer` and `Signature`.
// Signing is hedged (RFC 6979 plus fresh entropy), as rust-umbral's `sign_digest_with_rng`: two signatures
// of the same message differ, so tests compare signatures by verifying them, not by bytes.
import { secp256k1 } from "@noble/curves/secp256k1";
import { bytesToNumberBE, createHmacDrbg } from "@noble/curves/abstract/utils";
import { hmac } from "@noble/hashes/hmac";
import { randomBytes } from "@noble/hashes/utils";
import { affine, CURVE_ORDER, Fn, G, linCombXModN, mulSecret, randomScalar, scalarToBytes, type Point } from "./curve";
import { DeserializationError } from "./errors";
import { invertPublic } from "./ec";
import { concat, sha256 } from "./hash";
import { PublicKey, secretScalar, type SecretKey } from "./keys";

export const SIGNATURE_SIZE = 64;
const HALF_ORDER = CURVE_ORDER >> 1n;

/** An ECDSA signature (r, s), both in [1, n). */
export class Signature {
  private constructor(
    readonly r: bigint,
    readonly s: bigint,
  ) {}

  /** @internal */
  static fromRS(r: bigint, s: bigint): Signature {
    return new Signature(r, s);
  }

  /** Parses r ‖ s (32 bytes each, big-endian). A high s parses (as in umbral-pre) but never verifies. */
  static fromBEBytes(bytes: Uint8Array): Signature {
    if (bytes.length !== SIGNATURE_SIZE) {
      throw new DeserializationError(`Signature: expected ${SIGNATURE_SIZE} bytes, got ${bytes.length}`);
    }
    const r = bytesToNumberBE(bytes.subarray(0, 32));
    const s = bytesToNumberBE(bytes.subarray(32));
    for (const [name, v] of [
      ["r", r],
      ["s", s],
    ] as const) {
      if (v === 0n || v >= CURVE_ORDER)
        throw new DeserializationError(`Signature: ${name} = 0x${v.toString(16)} is not in [1, n)`);
    }
    return new Signature(r, s);
  }

  static fromDerBytes(bytes: Uint8Array): Signature {
    let sig;
    try {
      sig = secp256k1.Signature.fromBytes(bytes, "der");
    } catch (e) {
      throw new DeserializationError(`Signature: invalid DER (${(e as Error).message})`);
    }
    return Signature.fromBEBytes(sig.toBytes("compact"));
  }

  toBEBytes(): Uint8Array {
    return concat(scalarToBytes(this.r), scalarToBytes(this.s));
  }

  toDerBytes(): Uint8Array {
    return new secp256k1.Signature(this.r, this.s).toBytes("der");
  }

  /** True if this is a low-S signature of SHA-256(message) by the key's owner. */
  verify(verifyingPk: PublicKey, message: Uint8Array): boolean {
    return verifyDigest(verifyingPk, sha256(message), this);
  }

  equals(other: Signature): boolean {
    return this.r === other.r && this.s === other.s;
  }

  /**
   * The recovery bit v ∈ {0, 1} for which ecrecover(digest, v, r, s) gives `verifyingPk`, or null if
   * neither does (the signature is not by that key over that digest).
   */
  recoveryBit(verifyingPk: PublicKey, digest: Uint8Array): 0 | 1 | null {
    if (this.s > HALF_ORDER) return null;
    for (const v of [0, 1] as const) {
      let q: Point;
      try {
        q = new secp256k1.Signature(this.r, this.s).addRecoveryBit(v).recoverPublicKey(digest);
      } catch {
        continue;
      }
      if (q.equals(verifyingPk.point)) return v;
    }
    return null;
  }

  toString(): string {
    return `Signature:${Buffer.from(this.toBEBytes()).toString("hex")}`;
  }
}

/**
 * Low-S ECDSA verification of a 32-byte digest: R = (e/s)·G + (r/s)·Q, accept iff R.x mod n = r.
 * Public inputs only, so variable time is fine: G uses its fixed-base table, Q the GLV/wNAF path, and R.x is
 * compared in projective form (no inversion).
 */
export function verifyDigest(verifyingPk: PublicKey, digest: Uint8Array, sig: Signature): boolean {
  const terms = ecdsaTerms(verifyingPk, digest, sig);
  return terms !== null && linCombXModN(terms.points, terms.scalars, terms.r);
}

/**
 * @internal The ECDSA acceptance test as terms of a multi-scalar product: the signature is valid iff
 * x(Σ scalars_i·points_i) mod n = r. Null if the signature is out of range or high-S (never valid).
 * Lets a caller fold the signature check into a larger product (see `CapsuleFrag.verify`).
 */
export function ecdsaTerms(
  verifyingPk: PublicKey,
  digest: Uint8Array,
  sig: Signature,
): { points: Point[]; scalars: bigint[]; r: bigint } | null {
  const { r, s } = sig;
  if (r <= 0n || r >= CURVE_ORDER || s <= 0n || s > HALF_ORDER || digest.length !== 32) return null;
  const e = bytesToNumberBE(digest) % CURVE_ORDER;
  const w = invertPublic(s, CURVE_ORDER); // s is public: Lehmer's variable-time inverse
  return { points: [G, verifyingPk.point], scalars: [Fn.mul(e, w), Fn.mul(r, w)], r };
}

/** Signs messages with a secret key; cannot be serialized. */
export class Signer {
  private readonly sk: SecretKey;

  constructor(secretKey: SecretKey) {
    this.sk = secretKey;
  }

  /**
   * Hedged ECDSA, as noble's `sign(…, { extraEntropy: true, lowS: true })` and rust-umbral: the nonce k
   * comes from RFC 6979's HMAC-DRBG seeded with d ‖ h ‖ 32 fresh random bytes (RFC 6979 §3.6). k·G is
   * `mulSecret`'s constant-time fixed-base product (33 table additions, against noble's slower `multiply`),
   * and 1/k is computed blinded: 1/k = b / (k·b) for a fresh random b, so the variable-time inverse only
   * sees k·b, a uniformly random scalar that says nothing about k.
   */
  sign(message: Uint8Array): Signature {
    const d = secretScalar(this.sk);
    const e = bytesToNumberBE(sha256(message)) % CURVE_ORDER;
    const seed = concat(scalarToBytes(d), scalarToBytes(e), randomBytes(32));
    const drbg = createHmacDrbg<Signature>(32, 32, (key, ...msgs) => hmac(sha256, key, concat(...msgs)));
    return drbg(seed, (kBytes) => {
      const k = bytesToNumberBE(kBytes);
      if (k === 0n || k >= CURVE_ORDER) return undefined;
      const r = affine(mulSecret(G, k)).x % CURVE_ORDER;
      if (r === 0n) return undefined;
      const b = randomScalar();
      const kInv = Fn.mul(invertPublic(Fn.mul(k, b), CURVE_ORDER), b);
      const s = Fn.mul(kInv, Fn.add(e, Fn.mul(r, d)));
      if (s === 0n) return undefined;
      return Signature.fromRS(r, s > HALF_ORDER ? CURVE_ORDER - s : s);
    });
  }

  verifyingKey(): PublicKey {
    return this.sk.publicKey();
  }

  toString(): string {
    return "Signer:...";
  }
}
