// secp256k1 arithmetic for Umbral on top of noble's Point representation (homogeneous projective X, Y, Z):
// a folding reduction for p = 2^256 − 2^32 − 977 with lazy reduction inside the complete a = 0 formulas of
// Renes–Costello–Batina (2015, algorithms 7, 8 and 9), so no input (identity, P = Q, P = −Q) needs a special
// case; fixed-base tables for G and U; GLV (the endomorphism halves every scalar) for any other point.
//
// Constant-time paths for secret scalars (`ctMul`, `ctLinComb`, `fixedMulSecret`): odd signed digits (no
// zero digit), so the same doublings and additions whatever the scalar; table entries and signs selected by
// array index, the same standard as noble's own `multiply`. Variable-time paths (`linCombPublic`,
// `isZeroSumPublic`, `linCombXModNPublic`, `invertPublic`) are for public scalars only: wNAF skips zero
// digits, Straus shares one chain of doublings between all terms.
import { secp256k1 } from "@noble/curves/secp256k1";
import { bytesToNumberBE } from "@noble/curves/abstract/utils";
import { randomBytes } from "@noble/hashes/utils";
import {
  fe,
  feAdd,
  feCarry,
  feCopy,
  feFromBig,
  feIsZero,
  feMul,
  feNeg,
  feScale,
  feSqr,
  feSub,
  feToBig,
  type Fe,
} from "./field";

type Point = InstanceType<typeof secp256k1.Point>;
const Point = secp256k1.Point;
const Fp = Point.Fp;
const P = Fp.ORDER;
const N = Point.Fn.ORDER;
const B3 = 21; // 3·b for y² = x³ + 7

// GLV endomorphism φ(x, y) = (β·x, y) = λ·(x, y), and the lattice basis that splits k into k1 + k2·λ.
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een;
const BASIS: [[bigint, bigint], [bigint, bigint]] = [
  [0x3086d221a7d46bcde86c90e49284eb15n, -0xe4437ed6010e88286f547fa90abfe4c3n],
  [0x114ca50f7a8e2f3f657c1108d9d44cfd8n, 0x3086d221a7d46bcde86c90e49284eb15n],
];

// Points inside this module: projective (X, Y, Z) and affine (x, y) with coordinates in `field.ts`'s limb
// form. Formulas write into an output triple (which may be one of the inputs) through module-level scratch
// elements, so a product allocates nothing per group operation.
type J = [Fe, Fe, Fe];
type A = [Fe, Fe];
const newJ = (): J => [fe(), fe(), fe()];
const zeroJ = (): J => [fe(), feFromBig(1n), fe()];
const ZERO: J = zeroJ();

const HALF_BITS = 1n << 128n;
const modP = (x: bigint): bigint => ((x % P) + P) % P;

// Scratch for the formulas (they never call one another, so one set is enough).
const [t0, t1, t2, t3, t4, u, v, X3, Y3, Z3] = Array.from({ length: 10 }, fe);

// Multiples: inputs are at most 2-unit (`field.ts`: every output coordinate below is a sum of two products,
// a 2-unit element; table entries and points from BigInts are units), so sums of two input coordinates are
// 4-unit. A product needs m_a·m_b ≤ 21; the multiples are in the comments. Multiplications by 3b = 21 are
// carried back to a unit first.

/** RCB algorithm 7: complete addition for a = 0, o = p + q. */
function padd(o: J, p: J, q: J): void {
  const [X1, Y1, Z1] = p;
  const [X2, Y2, Z2] = q;
  feMul(t0, X1, X2); // 1
  feMul(t1, Y1, Y2); // 1
  feMul(t2, Z1, Z2); // 1
  feAdd(u, X1, Y1); // 4
  feAdd(v, X2, Y2); // 4
  feMul(t3, u, v); // 4·4
  feAdd(t4, t0, t1);
  feSub(t3, t3, t4); // 3
  feAdd(u, Y1, Z1);
  feAdd(v, Y2, Z2);
  feMul(t4, u, v); // 4·4
  feAdd(X3, t1, t2);
  feSub(t4, t4, X3); // 3
  feAdd(u, X1, Z1);
  feAdd(v, X2, Z2);
  feMul(X3, u, v); // 4·4
  feAdd(Y3, t0, t2);
  feSub(Y3, X3, Y3); // 3
  feScale(t0, t0, 3); // 3
  feScale(t2, t2, B3);
  feCarry(t2); // 1
  feAdd(Z3, t1, t2); // 2
  feSub(t1, t1, t2); // 2
  feScale(Y3, Y3, B3);
  feCarry(Y3); // 1
  finish(o, t4);
}

/**
 * The last three lines shared by `padd` and `madd`: X3 = t3·t1 − t4·Y3, Y3 = t1·Z3 + Y3·t0,
 * Z3 = Z3·t4 + t0·t3 (multiples 3·2, 3·1, 2·2, 1·3, 2·3, 3·3), each a 2-unit output.
 */
function finish(o: J, t4: Fe): void {
  feMul(u, t3, t1);
  feMul(v, t4, Y3);
  feSub(o[0], u, v);
  feMul(u, t1, Z3);
  feMul(v, Y3, t0);
  feAdd(o[1], u, v);
  feMul(u, Z3, t4);
  feMul(v, t0, t3);
  feAdd(o[2], u, v);
}

/** RCB algorithm 8: complete mixed addition o = p + (x, y) for a unit affine q (never the identity). */
function madd(o: J, p: J, q: A): void {
  const [X1, Y1, Z1] = p;
  const [X2, Y2] = q;
  feMul(t0, X1, X2); // 1
  feMul(t1, Y1, Y2); // 1
  feAdd(u, X2, Y2); // 2
  feAdd(v, X1, Y1); // 4
  feMul(t3, u, v); // 2·4
  feAdd(t4, t0, t1);
  feSub(t3, t3, t4); // 3
  feMul(t4, Y2, Z1);
  feAdd(t4, t4, Y1); // 3
  feMul(Y3, X2, Z1);
  feAdd(Y3, Y3, X1); // 3
  feScale(t0, t0, 3); // 3
  feScale(t2, Z1, B3);
  feCarry(t2); // 1
  feAdd(Z3, t1, t2); // 2
  feSub(t1, t1, t2); // 2
  feScale(Y3, Y3, B3);
  feCarry(Y3); // 1
  finish(o, t4);
}

/** RCB algorithm 9: doubling for a = 0, o = 2·p. */
function pdbl(o: J, p: J): void {
  const [X, Y, Z] = p;
  feMul(v, X, Y); // 1 (read before o, which may be p, is written)
  feSqr(t0, Y); // 1
  feScale(Z3, t0, 8); // 8
  feMul(t1, Y, Z); // 1
  feSqr(t2, Z);
  feScale(t2, t2, B3);
  feCarry(t2); // 1
  feMul(X3, t2, Z3); // 1·8
  feAdd(Y3, t0, t2); // 2
  feMul(o[2], t1, Z3); // 1·8
  feScale(t2, t2, 3); // 3
  feSub(t0, t0, t2); // 4
  feMul(u, t0, Y3); // 4·2
  feAdd(o[1], X3, u); // 2
  feMul(u, t0, v); // 4·1
  feAdd(o[0], u, u); // 2
}

/** A fresh triple −p. */
function negJ(p: J): J {
  const o: J = [feCopy(fe(), p[0]), fe(), feCopy(fe(), p[2])];
  feNeg(o[1], p[1]);
  return o;
}
const fromPoint = (p: Point): J => [feFromBig(p.X), feFromBig(p.Y), feFromBig(p.Z)];
const toPoint = (p: J): Point => new Point(feToBig(p[0]), feToBig(p[1]), feToBig(p[2]));
/** 2p, as a fresh triple. */
const dblJ = (p: J): J => {
  const o = newJ();
  pdbl(o, p);
  return o;
};
/** p + q, as a fresh triple. */
const addJ = (p: J, q: J): J => {
  const o = newJ();
  padd(o, p, q);
  return o;
};

const [[A1, B1], [A2, B2]] = BASIS;
const HALF_N = N / 2n;

/**
 * k = k1·(±1) + k2·(±1)·λ mod n with k1, k2 < 2^128: noble's `_splitEndoScalar` math (Babai rounding
 * against the lattice basis) without its per-call bit-length loop over n, which cost more than the split.
 */
function split(k: bigint): { k1: bigint; k2: bigint; k1neg: boolean; k2neg: boolean } {
  const c1 = (B2 * k + HALF_N) / N;
  const c2 = (-B1 * k + HALF_N) / N;
  let k1 = k - c1 * A1 - c2 * A2;
  let k2 = -c1 * B1 - c2 * B2;
  const k1neg = k1 < 0n;
  const k2neg = k2 < 0n;
  if (k1neg) k1 = -k1;
  if (k2neg) k2 = -k2;
  // Cannot happen for k in [0, n) with this basis; checked as noble does (no scalar in the message: k may be secret).
  if (k1 >= HALF_BITS || k2 >= HALF_BITS) throw new Error("GLV split produced a half of 128 bits or more");
  return { k1, k2, k1neg, k2neg };
}

/**
 * Odd signed 5-bit digits d_0 … d_26 of an odd k < 2^130: d_i ∈ {±1, ±3, …, ±31}, Σ d_i·2^(5i) = k (the
 * regular recoding of `oddDigits8` with 5-bit windows: d_i = (((k >> 5i) mod 2^6) | 1) − 32, d_26 = 1).
 */
function oddDigits5(k: bigint): Int8Array {
  const bin = k.toString(2).padStart(135, "0");
  const d = new Int8Array(27);
  for (let i = 0; i < 26; i++) {
    let v = 0;
    for (let b = 5; b >= 0; b--) v = (v << 1) | (bin.charCodeAt(134 - (5 * i + b)) - 48);
    d[i] = (v | 1) - 32;
  }
  d[26] = 1;
  return d;
}

/**
 * k·Q for a secret k in [1, n), with a scalar-independent sequence of group operations, as an affine point
 * (Z = 1): such products are encoded (hashed or sent) next, and the blinded inversion here in limb form costs
 * less than the one of the encoding.
 */
export function ctMul(q: Point, k: bigint): Point {
  return ctMulOfSum([q], k);
}

/**
 * k·(Q_1 + … + Q_m) for a secret k in [1, n) and public points Q_i, as {@link ctMul}: the sum is formed with
 * the complete addition in limb form (a capsule is opened with sk·(E + V)), one table for it.
 */
export function ctMulOfSum(points: Point[], k: bigint): Point {
  const base = zeroJ();
  for (const q of points) padd(base, base, fromPoint(q));
  // The sum is public, and the identity has no affine table (k·O = O).
  if (feIsZero(base[2])) return Point.ZERO;
  const [table] = ctTables([base]);
  return toAffinePoint(ctRun([{ table, k }]));
}

// Scratch for the secret paths: the negated y of the selected entry (always computed, then selected by index
// from `ys`, a reused pair rather than a fresh array literal per addition).
const negY = fe();
const ys: [Fe, Fe] = [negY, negY];
/** y or −y (in `negY`) by the index `negate` ∈ {0, 1}, without a branch. */
function ySelect(y: Fe, negate: number): Fe {
  feNeg(negY, y);
  ys[0] = y;
  return ys[negate];
}

/** The affine tables of a public point for the secret paths: odd multiples 1·Q … 31·Q, and their φ-images. */
interface CtTable {
  odd: A[];
  endo: A[];
}

/**
 * Scratch for the secret paths' tables and corrections, grown on demand and reused by every call: the tables
 * live only within one synchronous `ctLinComb` or `ctMulEach` call (a typed-array allocation costs about as
 * much as four field products here, and a product by a secret needed ~170 of them).
 */
const ctPool = { proj: [] as J[], odd: [] as A[], endoX: [] as Fe[], prefix: [] as Fe[], minus: [] as J[] };
function grown<T>(list: T[], n: number, make: () => T): T[] {
  while (list.length < n) list.push(make());
  return list;
}
const ctTwice = newJ();

/**
 * The {@link CtTable}s of public non-identity points (at most 2-unit triples), normalised with one inversion
 * for all. They are multiples of the public Q, computed before any secret is involved, in pooled storage that
 * the next call overwrites (callers use them at once).
 */
function ctTables(points: J[]): CtTable[] {
  const n = 16 * points.length;
  const proj = grown(ctPool.proj, n, newJ);
  points.forEach((q, i) => {
    const b = proj[16 * i];
    for (let c = 0; c < 3; c++) feCopy(b[c], q[c]);
    pdbl(ctTwice, b);
    for (let j = 1; j < 16; j++) padd(proj[16 * i + j], proj[16 * i + j - 1], ctTwice);
  });
  const affine = normalizeBatch(
    proj,
    n,
    grown(ctPool.odd, n, (): A => [fe(), fe()]),
    grown(ctPool.prefix, n, fe),
  );
  const endoX = grown(ctPool.endoX, n, fe);
  return points.map((_, i) => {
    const odd = affine.slice(16 * i, 16 * i + 16);
    const endo = odd.map((a, j): A => {
      const x = endoX[16 * i + j];
      feMul(x, a[0], BETA_FE);
      return [x, a[1]];
    });
    return { odd, endo };
  });
}

/**
 * Σ k·Q over `terms` (secret k in [1, n), Q given by its table), in constant time. Each k is split by GLV
 * into two halves below 2^128; each half k is made odd as k | 1 (k + 1 when even) and recoded into 27 odd
 * signed 5-bit digits, so no digit is zero: one shared run of 130 doublings, then per half exactly 27 mixed
 * additions of an entry of the odd or φ table, entry and sign selected by array index, and one complete
 * addition of −Q or the identity (selected by index) to undo the + 1. The halves' secret signs only select.
 * The field arithmetic (`field.ts`) runs the same floating-point operations whatever the values. The result
 * is pooled scratch: convert it (`toPoint`) before the next run.
 */
function ctRun(terms: { table: CtTable; k: bigint }[]): J {
  const tables: A[][] = [];
  const signs: number[] = [];
  const digits: Int8Array[] = [];
  const corrections: J[] = [];
  const minus = grown(ctPool.minus, 2 * terms.length, newJ);
  for (const { table: t, k: scalar } of terms) {
    const { k1, k2, k1neg, k2neg } = split(scalar);
    const halves: [A[], bigint, boolean][] = [
      [t.odd, k1, k1neg],
      [t.endo, k2, k2neg],
    ];
    for (const [table, k, negative] of halves) {
      const sign = Number(negative);
      const even = Number(k & 1n) ^ 1;
      tables.push(table);
      signs.push(sign);
      digits.push(oddDigits5(k | 1n));
      // −(±Q): the entry 1·Q with the opposite of the half's sign, as a projective triple.
      const [bx, by] = table[0];
      const minusQ = minus[corrections.length];
      feCopy(minusQ[0], bx);
      feCopy(minusQ[1], ySelect(by, sign ^ 1));
      minusQ[2].fill(0);
      minusQ[2][0] = 1;
      corrections.push([ZERO, minusQ][even]);
    }
  }
  const acc = ctAcc;
  acc[0].fill(0);
  acc[1].fill(0);
  acc[1][0] = 1;
  acc[2].fill(0);
  const entry = ctEntry;
  for (let w = 26; w >= 0; w--) {
    if (w < 26) for (let i = 0; i < 5; i++) pdbl(acc, acc);
    for (let t = 0; t < tables.length; t++) {
      const d = digits[t][w];
      const negD = (d >> 7) & 1; // 1 if the digit is negative
      const e = tables[t][((d ^ -negD) + negD - 1) >> 1]; // |d| = 2j + 1 → entry j
      entry[0] = e[0];
      entry[1] = ySelect(e[1], negD ^ signs[t]);
      madd(acc, acc, entry);
    }
  }
  for (const c of corrections) padd(acc, acc, c);
  return acc;
}
// ctRun's accumulator (its result: callers convert it before the next run) and selected entry.
const ctAcc = newJ();
const ctEntry: A = [fe(), fe()];

/** Σ k_i·Q_i for secret k_i in [1, n), in constant time (see {@link ctRun}); public points Q_i. */
export function ctLinComb(allPoints: Point[], allScalars: bigint[]): Point {
  // The identity (public) contributes nothing and has no affine table.
  const points = allPoints.filter((q) => q.Z !== 0n);
  const scalars = allScalars.filter((_, i) => allPoints[i].Z !== 0n);
  const tables = ctTables(points.map(fromPoint));
  return toPoint(ctRun(points.map((_, i) => ({ table: tables[i], k: scalars[i] }))));
}

/**
 * k_j·Q_i for every public point Q_i and every secret k_j in [1, n): out[i][j], each product in constant
 * time as {@link ctMul}, with each point's table built once (one inversion for all): a proxy's re-encryption
 * multiplies both capsule points by rk and by its nonce.
 */
export function ctMulEach(points: Point[], scalars: bigint[]): Point[][] {
  const live = points.filter((q) => q.Z !== 0n);
  const tables = ctTables(live.map(fromPoint));
  return points.map((q) => {
    if (q.Z === 0n) return scalars.map(() => q);
    const table = tables[live.indexOf(q)];
    return scalars.map((k) => toPoint(ctRun([{ table, k }])));
  });
}
/** Width-5 NAF of a non-negative scalar, least significant digit first; digits odd in [−15, 15] or 0. */
function wnaf5(k: bigint): Int8Array {
  const bin = k.toString(2);
  const len = bin.length;
  const bits = new Uint8Array(len + 7);
  for (let i = 0; i < len; i++) bits[i] = bin.charCodeAt(len - 1 - i) - 48;
  const out = new Int8Array(len + 7);
  for (let i = 0; i < len + 1; i++) {
    if (bits[i] === 0) continue;
    let d = bits[i] | (bits[i + 1] << 1) | (bits[i + 2] << 2) | (bits[i + 3] << 3) | (bits[i + 4] << 4);
    bits[i] = bits[i + 1] = bits[i + 2] = bits[i + 3] = bits[i + 4] = 0;
    if (d > 16) {
      // k − d with d = w − 32 adds 32 − w: the window clears and a carry enters bit i + 5.
      d -= 32;
      let j = i + 5;
      while (bits[j] === 1) bits[j++] = 0;
      bits[j] = 1;
    }
    out[i] = d;
  }
  return out;
}

/**
 * Affine (x, y) of the first `count` projective points with Z ≠ 0, with one blinded field inversion for all
 * (Montgomery's trick). Into `out` and with `prefix` as scratch when given (the secret paths' pooled tables),
 * else into fresh elements.
 */
function normalizeBatch(points: J[], count = points.length, out?: A[], prefix?: Fe[]): A[] {
  const pre = prefix ?? Array.from({ length: count }, fe);
  const result = out ?? Array.from({ length: count }, (): A => [fe(), fe()]);
  const acc = normAcc;
  acc.fill(0);
  acc[0] = 1;
  for (let i = 0; i < count; i++) {
    feCopy(pre[i], acc);
    feMul(acc, acc, points[i][2]);
  }
  // Tables of public points come here, and the encodings of products by secrets: hence the blinding.
  const inv = invertBlinded(normInv, acc);
  const zInv = normZInv;
  for (let i = count - 1; i >= 0; i--) {
    feMul(zInv, inv, pre[i]);
    feMul(inv, inv, points[i][2]);
    feMul(result[i][0], points[i][0], zInv);
    feMul(result[i][1], points[i][1], zInv);
  }
  return result;
}
const [normAcc, normInv, normZInv] = [fe(), fe(), fe()];

/**
 * 1/z mod p for z ≢ 0 with the variable-time `invertPublic`, blinded: z may be the Z of a product by a secret
 * (projective coordinates leak about the scalar), so the inversion only sees z·b for a fresh random b, and
 * its result is multiplied by b again. b is 32 random bytes modulo p (bias below 2^-200, harmless for a
 * blinding factor; 0, once in 2^256, becomes 1).
 */
export function invertBlindedField(z: bigint): bigint {
  const b = bytesToNumberBE(randomBytes(32)) % P || 1n;
  return (invertPublic((z * b) % P, P) * b) % P;
}

/** o = 1/a for a ≠ 0 in limb form: {@link invertBlindedField}. */
function invertBlinded(o: Fe, a: Fe): Fe {
  return feFromBig(invertBlindedField(feToBig(a)), o);
}

/** The affine point of a projective triple (one blinded inversion), Z = 1; the identity for Z = 0. */
function toAffinePoint(p: J): Point {
  if (feIsZero(p[2])) return Point.ZERO;
  const zInv = invertBlinded(normZInv, p[2]);
  feMul(normAcc, p[0], zInv);
  feMul(normInv, p[1], zInv);
  return new Point(feToBig(normAcc), feToBig(normInv), 1n);
}

/**
 * Signed odd 8-bit digits of an odd k < 2^256: d_0 … d_32, each odd in [−255, 255], Σ d_i·2^(8i) = k
 * (regular recoding, Joye–Tunstall). Step i takes d_i = (k_i mod 2^9) − 2^8 and k_(i+1) = (k_i − d_i)/2^8,
 * which is (k >> 8(i+1)) | 1, so every digit comes from two adjacent bytes without carries:
 * d_i = (b_i | 1) + 256·(b_(i+1) & 1) − 256, and the last remainder is d_32 = 1. No digit is zero, so a
 * product is always the same 33 table additions.
 */
export function oddDigits8(k: bigint): Int16Array {
  const be = Buffer.from(k.toString(16).padStart(64, "0"), "hex");
  const d = new Int16Array(FIXED_ROWS);
  for (let i = 0; i < 32; i++) d[i] = (be[31 - i] | 1) - 256 + 256 * (i < 31 ? be[30 - i] & 1 : 0);
  d[32] = 1;
  return d;
}

/**
 * A fixed base B with affine tables: row i holds the odd multiples (2j + 1)·2^(8i)·B, j = 0..127, and a
 * scalar in odd signed 8-bit digits (`oddDigits8`; an even k is done as −((n − k)·B)) costs exactly 33 mixed
 * additions and no doubling, public or secret. The 4224-point table is built on first use (~10 ms).
 */
class FixedBase {
  private rows?: A[][];

  constructor(readonly point: Point) {}

  private table(): A[][] {
    if (this.rows) return this.rows;
    const all: J[] = [];
    let base = fromPoint(this.point);
    for (let i = 0; i < FIXED_ROWS; i++) {
      const twice = dblJ(base);
      let p = base;
      all.push(p);
      for (let j = 1; j < FIXED_HALF; j++) all.push((p = addJ(p, twice)));
      base = addJ(p, base); // 255·2^(8i)·B + 2^(8i)·B = 2^(8(i+1))·B
    }
    const affine = normalizeBatch(all);
    const rows: A[][] = [];
    for (let i = 0; i < FIXED_ROWS; i++) rows.push(affine.slice(i * FIXED_HALF, (i + 1) * FIXED_HALF));
    this.rows = rows;
    return rows;
  }

  /** acc += k·B for a public k in [1, n) (variable time). */
  addMulPublic(acc: J, k: bigint): void {
    const rows = this.table();
    const even = (k & 1n) === 0n;
    const d = oddDigits8(even ? N - k : k);
    const sum = zeroJ();
    const entry: A = [fe(), fe()];
    for (let i = 0; i < FIXED_ROWS; i++) {
      const di = d[i];
      const e = rows[i][(Math.abs(di) - 1) >> 1];
      entry[0] = e[0];
      if (di > 0) entry[1] = e[1];
      else feNeg((entry[1] = negY), e[1]);
      madd(sum, sum, entry);
    }
    if (even) feNeg(sum[1], sum[1]);
    padd(acc, acc, sum);
  }

  /**
   * k·B for a secret k in [1, n) in constant time: the same 33 mixed additions whatever k; the table entry,
   * its sign and the final sign are selected by array index, both candidates always computed (noble's
   * standard for its own `multiply`).
   */
  mulSecret(k: bigint): J {
    const rows = this.table();
    const even = Number(k & 1n) ^ 1;
    const d = oddDigits8([k, N - k][even]);
    const acc = zeroJ();
    const entry: A = [fe(), fe()];
    for (let i = 0; i < FIXED_ROWS; i++) {
      const di = d[i];
      const sign = (di >> 15) & 1; // 1 if negative
      const e = rows[i][((di ^ -sign) + sign - 1) >> 1];
      entry[0] = e[0];
      entry[1] = ySelect(e[1], sign);
      madd(acc, acc, entry);
    }
    return [acc, negJ(acc)][even];
  }
}

const FIXED_HALF = 128; // odd multiples 1, 3, …, 255 per row
const FIXED_ROWS = 33; // 32 digits plus the final remainder 1
const FIXED = new Map<Point, FixedBase>();

/**
 * Marks `point` as a fixed base: `linCombPublic`, `msmPublic` and `fixedMulSecret` then multiply it with
 * precomputed tables instead of doublings. Points are looked up by identity.
 */
export function registerFixedBase(point: Point): void {
  if (!FIXED.has(point)) FIXED.set(point, new FixedBase(point));
}

/** k·B for a secret k in [1, n) and a registered fixed base B, in constant time; null if B is not one. */
export function fixedMulSecret(point: Point, k: bigint): Point | null {
  const fixed = FIXED.get(point);
  return fixed ? toPoint(fixed.mulSecret(k)) : null;
}

/** Odd multiples Q, 3Q, …, 15Q of a projective point, for width-5 NAF digits. */
function oddMultiples(b: J): J[] {
  const twice = dblJ(b);
  const odd: J[] = [b];
  for (let j = 1; j < 8; j++) odd.push(addJ(odd[j - 1], twice));
  return odd;
}

// The public tables of a point (affine odd multiples, and their images under φ for GLV) by point identity:
// the same capsule points and keys come back for every cfrag of a capsule and every kfrag of a policy. Only
// public points reach `msmPublic`; a WeakMap lets them go with their point.
const PUBLIC_TABLES = new WeakMap<Point, { odd: A[]; endo?: A[] }>();

const BETA_FE = feFromBig(BETA);
const endoA = (a: A): A => {
  const x = fe();
  feMul(x, a[0], BETA_FE);
  return [x, a[1]];
};

/**
 * Σ k_i·Q_i for public scalars (variable time), as a projective triple; Z = 0 for the identity.
 * Straus' interleaving over one shared run of ≤ 128 doublings: scalars of 128 bits or more are split by GLV
 * into two halves, shorter ones (and n − k for short k, i.e. small negative scalars) are used as they are;
 * scalars ±1 add their point once at the end; registered fixed bases (G, U) use their tables and no
 * doublings. The width-5 tables are affine (all new ones normalised with one inversion), so every digit
 * costs a mixed addition.
 */
function msmPublic(points: Point[], scalars: bigint[]): J {
  const tail: J = zeroJ();
  const vars: [Point, bigint][] = [];
  points.forEach((q, i) => {
    const k = ((scalars[i] % N) + N) % N;
    // Z = 0 is the identity (noble keeps coordinates reduced); noble's is0() is an equals() with 4 products.
    if (k === 0n || q.Z === 0n) return;
    const fixed = FIXED.get(q);
    if (fixed) {
      fixed.addMulPublic(tail, k);
    } else if (k === 1n || k === N - 1n) {
      const b = fromPoint(q);
      padd(tail, tail, k === 1n ? b : negJ(b));
    } else {
      vars.push([q, k]);
    }
  });
  const fresh = vars.map(([q]) => q).filter((q, i, all) => !PUBLIC_TABLES.has(q) && all.indexOf(q) === i);
  if (fresh.length > 0) {
    const affine = normalizeBatch(fresh.flatMap((q) => oddMultiples(fromPoint(q))));
    fresh.forEach((q, j) => PUBLIC_TABLES.set(q, { odd: affine.slice(8 * j, 8 * j + 8) }));
  }
  const tables: A[][] = [];
  const negated: boolean[] = [];
  const nafs: Int8Array[] = [];
  for (const [q, k] of vars) {
    const t = PUBLIC_TABLES.get(q) as { odd: A[]; endo?: A[] };
    if (k < HALF_BITS || N - k < HALF_BITS) {
      tables.push(t.odd);
      negated.push(k >= HALF_BITS);
      nafs.push(wnaf5(k < HALF_BITS ? k : N - k));
      continue;
    }
    const { k1, k2, k1neg, k2neg } = split(k);
    t.endo ??= t.odd.map(endoA);
    tables.push(t.odd, t.endo);
    negated.push(k1neg, k2neg);
    nafs.push(wnaf5(k1), wnaf5(k2));
  }
  let top = -1;
  for (const n of nafs) for (let i = n.length - 1; i > top; i--) if (n[i] !== 0) top = i;
  const acc = zeroJ();
  const entry: A = [fe(), fe()];
  for (let i = top; i >= 0; i--) {
    pdbl(acc, acc);
    for (let t = 0; t < nafs.length; t++) {
      const d = nafs[t][i]; // undefined above a short scalar's top digit
      if (!d) continue;
      const e = tables[t][Math.abs(d) >> 1];
      entry[0] = e[0];
      if (d > 0 !== negated[t]) entry[1] = e[1];
      else feNeg((entry[1] = negY), e[1]);
      madd(acc, acc, entry);
    }
  }
  padd(acc, acc, tail);
  return acc;
}

/** Σ k_i·Q_i for public scalars (variable time), see `msmPublic`. */
export function linCombPublic(points: Point[], scalars: bigint[]): Point {
  return toPoint(msmPublic(points, scalars));
}

/**
 * Σ k_i·Q_i = O for public scalars: a check of the form a·A + b·B = C is asked as a·A + b·B − C = O, so
 * the result is never converted out of projective form (Z = 0 is the identity, whatever X and Y are).
 */
export function isZeroSumPublic(points: Point[], scalars: bigint[]): boolean {
  return feToBig(msmPublic(points, scalars)[2]) === 0n;
}

/**
 * x(Σ k_i·Q_i) mod n = r for public scalars (the ECDSA acceptance test), without an inversion: with
 * R = (X : Y : Z), x = X/Z, and x mod n = r means x = r or (if r + n < p) x = r + n.
 */
export function linCombXModNPublic(points: Point[], scalars: bigint[], r: bigint): boolean {
  const R = msmPublic(points, scalars);
  const X = feToBig(R[0]);
  const Z = feToBig(R[2]);
  if (Z === 0n || r <= 0n || r >= N) return false;
  if (modP(r * Z) === X) return true;
  return r + N < P && modP((r + N) * Z) === X;
}

/** o = x^(2^n) */
function sqrN(o: Fe, x: Fe, n: number): Fe {
  feSqr(o, x);
  for (let i = 1; i < n; i++) feSqr(o, o);
  return o;
}

/** o = a·b into a fresh element. */
function mulNew(a: Fe, b: Fe): Fe {
  const o = fe();
  feMul(o, a, b);
  return o;
}

/**
 * √a = a^((p+1)/4) (p ≡ 3 mod 4) by libsecp256k1's addition chain (253 squarings, 13 products) on the
 * limb field; null if a is not a square.
 */
export function sqrtP(aBig: bigint): bigint | null {
  const a = feFromBig(aBig);
  const s = fe();
  const x2 = mulNew(sqrN(s, a, 1), a);
  const x3 = mulNew(sqrN(s, x2, 1), a);
  const x6 = mulNew(sqrN(s, x3, 3), x3);
  const x9 = mulNew(sqrN(s, x6, 3), x3);
  const x11 = mulNew(sqrN(s, x9, 2), x2);
  const x22 = mulNew(sqrN(s, x11, 11), x11);
  const x44 = mulNew(sqrN(s, x22, 22), x22);
  const x88 = mulNew(sqrN(s, x44, 44), x44);
  const x176 = mulNew(sqrN(s, x88, 88), x88);
  const x220 = mulNew(sqrN(s, x176, 44), x44);
  const x223 = mulNew(sqrN(s, x220, 3), x3);
  const t = mulNew(sqrN(s, mulNew(sqrN(s, x223, 23), x22), 6), x2);
  const root = feToBig(sqrN(s, t, 2));
  return modP(root * root) === aBig ? root : null;
}

/**
 * The point with affine x and the given parity of y, or null if x ≥ p or x³ + 7 is not a square (x is not
 * on the curve). Cofactor 1: any such point is in the group.
 */
export function liftX(x: bigint, odd: boolean): Point | null {
  if (x >= P) return null;
  const y = sqrtP(modP(x * x * x + 7n));
  if (y === null) return null;
  return new Point(x, ((y & 1n) === 1n) === odd ? y : P - y, 1n);
}

/**
 * @internal The raw formulas on noble points, for the tests that compare them with noble's `add`/`double`
 * on edge cases (identity, P + P, P + (−P)). `madd` needs an affine, non-identity second operand.
 */
export const formulasForTests = {
  split,
  padd: (p: Point, q: Point): Point => toPoint(addJ(fromPoint(p), fromPoint(q))),
  pdbl: (p: Point): Point => toPoint(dblJ(fromPoint(p))),
  madd: (p: Point, q: Point): Point => {
    const { x, y } = q.toAffine();
    const o = fromPoint(p);
    madd(o, o, [feFromBig(x), feFromBig(y)]);
    return toPoint(o);
  },
};

/**
 * a^-1 mod m for a public a coprime to m (variable time): Lehmer's extended Euclid. The quotients of
 * ~26 steps at a time are found on the top 52 bits as JavaScript numbers (exact: every value stays below
 * 2^53, and floor(x / y) of integers below 2^53 is exact in doubles), with Jebelean's test that both bounds
 * give the same quotient, and applied to the BigInts as one 2×2 matrix; ~4× faster than noble's
 * division-per-step `invert`. For the ECDSA s (public) and the Z coordinates of points being encoded (the
 * same standard as noble's `toAffine`, itself a variable-time Euclid); never for secret scalars.
 */
export function invertPublic(a: bigint, m: bigint): bigint {
  let r0 = m;
  let r1 = ((a % m) + m) % m;
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const shift = r0.toString(16).length * 4 - 52; // the bit length rounded up to a nibble, minus 52
    let A = 1;
    let B = 0;
    let C = 0;
    let D = 1;
    if (shift > 0) {
      let x = Number(r0 >> BigInt(shift));
      let y = Number(r1 >> BigInt(shift));
      while (y + C !== 0 && y + D !== 0) {
        const q = Math.floor((x + A) / (y + C));
        if (q !== Math.floor((x + B) / (y + D))) break;
        [A, C] = [C, A - q * C];
        [B, D] = [D, B - q * D];
        [x, y] = [y, x - q * y];
      }
    }
    if (B === 0) {
      // No simulated step was certain (or the numbers are small): one exact division step.
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [t0, t1] = [t1, t0 - q * t1];
    } else {
      const [bA, bB, bC, bD] = [BigInt(A), BigInt(B), BigInt(C), BigInt(D)];
      [r0, r1] = [bA * r0 + bB * r1, bC * r0 + bD * r1];
      [t0, t1] = [bA * t0 + bB * t1, bC * t0 + bD * t1];
    }
  }
  if (r0 !== 1n) throw new RangeError("invertPublic: the value is not invertible modulo m");
  return ((t0 % m) + m) % m;
}

/**
 * Affine (x, y) of non-identity points with one inversion for all (Montgomery's trick on `invertPublic`,
 * variable time like noble's own `toAffine`): for encoding several fresh points at once.
 */
export function affineBatch(points: Point[]): { x: bigint; y: bigint }[] {
  return normalizeBatch(points.map(fromPoint)).map(([x, y]) => ({ x: feToBig(x), y: feToBig(y) }));
}
