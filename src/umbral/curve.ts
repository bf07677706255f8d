// secp256k1 as Umbral uses it: points, scalars, the second generator U, their byte forms, and the two kinds
// of scalar multiplication. Secret scalars go through `mulSecret` / `linCombSecret` (constant time: `ec.ts`'s
// fixed-base tables for G and U, its GLV windows otherwise); `mulPublic` / `sumOfProducts` are
// variable time, for public scalars on verification paths only.
import { secp256k1, hashToCurve } from "@noble/curves/secp256k1";
import { bytesToNumberBE } from "@noble/curves/abstract/utils";
import { randomBytes } from "@noble/hashes/utils";
import { DeserializationError, UmbralError } from "./errors";
import {
  affineBatch,
  ctLinComb,
  invertBlindedField,
  ctMul,
  ctMulEach,
  ctMulOfSum,
  fixedMulSecret,
  isZeroSumPublic,
  linCombPublic,
  linCombXModNPublic,
  liftX,
  registerFixedBase,
} from "./ec";

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;

/** Scalar field of secp256k1 (integers modulo the group order n). */
export const Fn = secp256k1.Point.Fn;
const Fp = secp256k1.Point.Fp;
/** Group order n. */
export const CURVE_ORDER: bigint = Fn.ORDER;

export const POINT_SIZE = 33;
export const SCALAR_SIZE = 32;

/** The generator G, with noble's default 8-bit fixed-base table. */
export const G: Point = Point.BASE;
registerFixedBase(G);

/**
 * The second generator U of umbral-pre's `Parameters`: RFC 9380 `secp256k1_XMD:SHA-256_SSWU_RO_` of the
 * message `POINT_U` under the DST `PARAMETERS`. Nobody knows log_G(U), which is what makes U1 = rk·U a
 * binding commitment to rk.
 */
export const U: Point = (() => {
  const h = hashToCurve(new TextEncoder().encode("POINT_U"), { DST: "PARAMETERS" });
  const p = Point.fromAffine(h.toAffine());
  // U is multiplied by every kfrag's rk and every proof nonce: worth the same fixed-base table as G.
  registerFixedBase(p);
  return p;
})();

// noble points are immutable, so a point's encoding can be cached by identity: the same precursor, keys and
// capsule points are hashed and serialized many times per operation.
const COMPRESSED = new WeakMap<Point, Uint8Array>();

/** 32-byte big-endian bytes of a non-negative integer below 2^256 (Buffer's hex codec is the fast path). */
function be32(x: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(x.toString(16).padStart(64, "0"), "hex"));
}

/**
 * 33-byte compressed SEC1 form. The returned array is shared: callers must not modify it. Pass
 * `cache = false` for secret points (shared secrets), whose encoding should not outlive its use.
 */
export function pointToBytes(p: Point, cache = true): Uint8Array {
  const cached = COMPRESSED.get(p);
  if (cached) return cached;
  if (p.Z === 0n) throw new UmbralError("the point at infinity has no 33-byte compressed form");
  const { x, y } = affine(p);
  const out = new Uint8Array(POINT_SIZE);
  out[0] = y & 1n ? 0x03 : 0x02;
  out.set(be32(x), 1);
  if (cache) COMPRESSED.set(p, out);
  return out;
}

/**
 * Computes and caches the compressed forms of several public points with one field inversion instead of
 * one each (noble's `toAffine`): for the fresh points of a capsule or cfrag, which are hashed right away.
 */
export function cacheCompressed(points: Point[]): void {
  const todo = points.filter((p, i) => p.Z !== 0n && !COMPRESSED.has(p) && points.indexOf(p) === i);
  if (todo.length < 2) return;
  affineBatch(todo).forEach(({ x, y }, i) => {
    const out = new Uint8Array(POINT_SIZE);
    out[0] = y & 1n ? 0x03 : 0x02;
    out.set(be32(x), 1);
    COMPRESSED.set(todo[i], out);
  });
}

/** Parses a 33-byte compressed SEC1 point (prefix 02/03, x < p, on the curve). */
export function pointFromBytes(bytes: Uint8Array, what = "point"): Point {
  if (bytes.length !== POINT_SIZE) {
    throw new DeserializationError(`${what}: expected ${POINT_SIZE}-byte compressed point, got ${bytes.length} bytes`);
  }
  if (bytes[0] !== 0x02 && bytes[0] !== 0x03) {
    throw new DeserializationError(
      `${what}: expected prefix 0x02 or 0x03, got 0x${bytes[0].toString(16).padStart(2, "0")}`,
    );
  }
  // ec.ts's square root runs on the folding field multiplication, faster than noble's `Point.fromBytes`;
  // y² = x³ + 7 is checked there, and with cofactor 1 every curve point is in the group.
  const p = liftX(bytesToNumberBE(bytes.subarray(1)), bytes[0] === 0x03);
  if (p === null) {
    throw new DeserializationError(`${what}: not a point on secp256k1 (x is not the x-coordinate of a curve point)`);
  }
  COMPRESSED.set(p, bytes.slice());
  return p;
}

/** 32-byte big-endian form of a scalar. */
export function scalarToBytes(k: bigint): Uint8Array {
  return be32(k);
}

/** Parses a 32-byte big-endian scalar in [1, n). Zero is rejected: no Umbral scalar on the wire may be zero. */
export function scalarFromBytes(bytes: Uint8Array, what = "scalar"): bigint {
  if (bytes.length !== SCALAR_SIZE) {
    throw new DeserializationError(`${what}: expected ${SCALAR_SIZE}-byte scalar, got ${bytes.length} bytes`);
  }
  const k = bytesToNumberBE(bytes);
  if (k === 0n) throw new DeserializationError(`${what}: scalar is zero`);
  if (k >= CURVE_ORDER)
    throw new DeserializationError(`${what}: scalar 0x${k.toString(16)} is not below the group order`);
  return k;
}

/** A uniformly random scalar in [1, n), by rejection sampling (no modulo bias). */
export function randomScalar(): bigint {
  for (;;) {
    const k = bytesToNumberBE(randomBytes(SCALAR_SIZE));
    if (k > 0n && k < CURVE_ORDER) return k;
  }
}

/**
 * k·P for a secret k in [1, n), in constant time. G and U use `ec.ts`'s fixed-base tables (33 mixed
 * additions of table entries selected by index, odd signed digits so no digit is zero); any other point
 * goes through `ctMul` (GLV, odd signed 5-bit digits, complete formulas; the result comes back affine).
 */
export function mulSecret(p: Point, k: bigint): Point {
  if (p.Z === 0n) return Point.ZERO; // the identity (cheaper than noble's is0(), an equals() with 4 products)
  return fixedMulSecret(p, k) ?? ctMul(p, k);
}

/**
 * k·(P_1 + … + P_m) for a secret k in [1, n), in constant time: the sum is formed in `ec.ts`'s limb field
 * (cheaper than noble's BigInt addition) and multiplied as by `mulSecret`. For sk·(E + V).
 */
export function mulSecretOfSum(points: Point[], k: bigint): Point {
  return ctMulOfSum(points, k);
}

/**
 * k_j·P_i for every point P_i and every secret k_j in [1, n), in constant time: out[i][j] equals
 * `mulSecret(points[i], scalars[j])`, each point's table built once (G and U are better served by
 * `mulSecret`, on their fixed tables).
 */
export function mulSecretEach(points: Point[], scalars: bigint[]): Point[][] {
  return ctMulEach(points, scalars);
}

/** Σ k_i·P_i for secret k_i in [1, n), in constant time (shared doublings). */
export function linCombSecret(points: Point[], scalars: bigint[]): Point {
  return ctLinComb(points, scalars);
}

/** k·P for a public k (verification paths only): variable time; G and U use their fixed-base tables. */
export function mulPublic(p: Point, k: bigint): Point {
  return linCombPublic([p], [k]);
}

/** Σ k_i·P_i for public k_i (verification paths only): variable-time Straus/wNAF with GLV. */
export function sumOfProducts(points: Point[], scalars: bigint[]): Point {
  return linCombPublic(points, scalars);
}

/**
 * Σ k_i·P_i = O for public k_i (verification paths only). A check a·A + b·B = C is asked as
 * a·A + b·B + (n − 1)·C = O: one multi-scalar product, compared in projective form without an inversion.
 */
export function isZeroSum(points: Point[], scalars: bigint[]): boolean {
  return isZeroSumPublic(points, scalars);
}

/** x(Σ k_i·P_i) mod n = r for public k_i, without an inversion: the ECDSA acceptance test. */
export function linCombXModN(points: Point[], scalars: bigint[], r: bigint): boolean {
  return linCombXModNPublic(points, scalars, r);
}

/**
 * Affine x and y of a point other than the identity (as the on-chain checker wants them, and for
 * encoding). 1/Z by `ec.ts`'s `invertBlindedField` (Lehmer, ~4× faster than noble's `toAffine`), blinded
 * because Z may come from a product by a secret: 1/Z = b / (Z·b) for a fresh random b, so the variable-time
 * inverse only sees a uniformly random element.
 */
export function affine(p: Point): { x: bigint; y: bigint } {
  if (p.Z === 0n) throw new UmbralError("the point at infinity has no affine coordinates");
  if (p.Z === 1n) return { x: p.X, y: p.Y };
  const zInv = invertBlindedField(p.Z);
  return { x: Fp.mul(p.X, zInv), y: Fp.mul(p.Y, zInv) };
}

/** Bytes equality that does not stop at the first difference. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
