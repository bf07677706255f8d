// Hashes with domain separation, exactly as umbral-pre's `hashing.rs` / `hashing_ds.rs`:
// SHA-256 over be32(len(DST)) ‖ DST ‖ parts, reduced to a non-zero scalar; points enter as 33-byte
// compressed. Also the kfrag signature message and the HKDF used by the DEM and the key factory.
import { sha256 } from "@noble/hashes/sha2";
import { hkdf } from "@noble/hashes/hkdf";
import { hmac } from "@noble/hashes/hmac";
import { bytesToNumberBE } from "@noble/curves/abstract/utils";
import { CURVE_ORDER, pointToBytes, U, type Point } from "./curve";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Incremental SHA-256 with umbral's DST prefix, finalized to a scalar in [1, n). */
export class ScalarDigest {
  private readonly h = sha256.create();

  constructor(dst: Uint8Array) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, dst.length, false);
    this.h.update(len).update(dst);
  }

  bytes(b: Uint8Array): this {
    this.h.update(b);
    return this;
  }

  point(p: Point): this {
    return this.bytes(pointToBytes(p));
  }

  /** (int_be(digest) mod (n − 1)) + 1: never zero, as umbral's `NonZeroCurveScalar::from_digest`. */
  finalize(): bigint {
    return (bytesToNumberBE(this.h.digest()) % (CURVE_ORDER - 1n)) + 1n;
  }
}

const DST_CAPSULE_POINTS = utf8("CAPSULE_POINTS");
const DST_SHARED_SECRET = utf8("SHARED_SECRET");
const DST_POLYNOMIAL_ARG = utf8("POLYNOMIAL_ARG");
const DST_CFRAG_VERIFICATION = utf8("CFRAG_VERIFICATION");

/** h in the capsule's self-check s·G = V + h·E. */
export function hashCapsulePoints(e: Point, v: Point): bigint {
  return new ScalarDigest(DST_CAPSULE_POINTS).point(e).point(v).finalize();
}

/** d, the non-interactive shared secret between the precursor and the receiving key. */
export function hashToSharedSecret(precursor: Point, receivingPk: Point, dh: Point): bigint {
  return new ScalarDigest(DST_SHARED_SECRET).point(precursor).point(receivingPk).point(dh).finalize();
}

/** x_i, the Shamir share index of the kfrag with this id. */
export function hashToPolynomialArg(precursor: Point, receivingPk: Point, dh: Point, kfragId: Uint8Array): bigint {
  return new ScalarDigest(DST_POLYNOMIAL_ARG).point(precursor).point(receivingPk).point(dh).bytes(kfragId).finalize();
}

/** h, the challenge of the re-encryption proof, over (E, e1, e2, V, v1, v2, U, U1, u2). */
export function hashToCfragVerification(
  e: Point,
  e1: Point,
  e2: Point,
  v: Point,
  v1: Point,
  v2: Point,
  u1: Point,
  u2: Point,
): bigint {
  const d = new ScalarDigest(DST_CFRAG_VERIFICATION);
  for (const p of [e, e1, e2, v, v1, v2, U, u1, u2]) d.point(p);
  return d.finalize();
}

/**
 * The message a kfrag's signatures cover: id ‖ U1 ‖ P ‖ (01 ‖ pk_A | 00) ‖ (01 ‖ pk_B | 00).
 * Keys are passed as 33-byte compressed bytes, or null where the signature leaves them out.
 */
export function kfragSignatureMessage(
  kfragId: Uint8Array,
  commitment: Point,
  precursor: Point,
  delegatingPk: Uint8Array | null,
  receivingPk: Uint8Array | null,
): Uint8Array {
  const parts: Uint8Array[] = [kfragId, pointToBytes(commitment), pointToBytes(precursor)];
  for (const key of [delegatingPk, receivingPk]) {
    parts.push(key === null ? Uint8Array.of(0) : Uint8Array.of(1), ...(key === null ? [] : [key]));
  }
  return concat(...parts);
}

// HMAC-SHA256 keyed with HKDF's default salt (32 zero bytes), its key pads hashed once: each `kdf` clones it.
const ZERO_SALT_HMAC = hmac.create(sha256, new Uint8Array(32));
const COUNTER_ONE = Uint8Array.of(1);

/**
 * HKDF-SHA256 with no salt (RFC 5869's all-zero default, as umbral's `kdf(seed, None, info)`). Up to 32
 * bytes (every DEM key) it is written out: PRK = HMAC(0^32, ikm), OKM = HMAC(PRK, info ‖ 0x01), the same
 * bytes as noble's `hkdf` at less than half its cost (no salt array, pad hashing or HMAC copies per call).
 */
export function kdf(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 1 || length > 32) return hkdf(sha256, ikm, undefined, info, length);
  const prk = ZERO_SALT_HMAC.clone().update(ikm).digest();
  return hmac.create(sha256, prk).update(info).update(COUNTER_ONE).digest().subarray(0, length);
}

export { sha256 };

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
