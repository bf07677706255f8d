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

type Point = InstanceType<typeof secp256k1.Point>;
const Point = secp256k1.Point;
const Fp = Point.Fp;
const P = Fp.ORDER;
const N = Point.Fn.ORDER;
const B3 = 21n; // 3·b for y² = x³ + 7

// GLV endomorphism φ(x, y) = (β·x, y) = λ·(x, y), and the lattice basis that splits k into k1 + k2·λ.
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een;
const BASIS: [[bigint, bigint], [bigint, bigint]] = [
  [0x3086d221a7d46bcde86c90e49284eb15n, -0xe4437ed6010e88286f547fa90abfe4c3n],
  [0x114ca50f7a8e2f3f657c1108d9d44cfd8n, 0x3086d221a7d46bcde86c90e49284eb15n],
];

type J = [bigint, bigint, bigint];
type A = [bigint, bigint];
const ZERO: J = [0n, 1n, 0n];

const C = 0x1000003d1n; // 2^256 mod p: p = 2^256 − 2^32 − 977
const M256 = (1n << 256n) - 1n;
const HALF_BITS = 1n << 128n;

/**
 * x mod p for 0 ≤ x < 2^700 (a product or a sum of two products of lazily reduced values) by folding the
 * high half twice (2^256 ≡ C), faster than BigInt `%`: for x < 2^L the first fold leaves
 * < 2^256 + 2^(L−223), the second < 2^256 + 2^(L−446) < 2p, one subtraction ends it. `& M256` allocates less
 * than BigInt.asUintN (measured ~15 % faster per multiplication).
 */
const red = (x: bigint): bigint => {
  let r = (x & M256) + (x >> 256n) * C;
  r = (r & M256) + (r >> 256n) * C;
  return r >= P ? r - P : r;
};
/**
 * One fold only: x ≡ result (mod p), result < 2^256 + 2^(L−223) for x < 2^L, i.e. < 2^292 for a product of
 * two values below 2^257. Half the cost of `red`; for intermediate values that only feed further products.
 */
const red1 = (x: bigint): bigint => (x & M256) + (x >> 256n) * C;
const reduce = (a: bigint): bigint => (a >= P ? a - P : a);
/** a·b mod p for a·b < 2^700, fully reduced. */
const mul = (a: bigint, b: bigint): bigint => red(a * b);

// Lazy reduction in padd / madd / pdbl (inputs and outputs fully reduced, < p < 2^256):
// - intermediate products that only feed sums and further products are folded once (`red1`, < 2^292);
// - a difference a − b is taken as a + K − b with K = 2^44·p > 2^299 above every b here (< 2^297), so
//   nothing goes negative; every intermediate stays < 2^307;
// - the outputs are sums or differences of two such products (< 2^608; a difference adds K2 = 2^352·p >
//   2^607), reduced once with `red` (< 2^610 < 2^700).
// Bit bounds are in the comments. This saves 3 of 12 full reductions per addition by pairing products and
// halves the cost of 6 more.
const K = P << 44n;
const K2 = P << 352n;

/** RCB algorithm 7: complete addition for a = 0. Multiplications by 3b = 21 are left unreduced. */
function padd(p: J, q: J): J {
  const [X1, Y1, Z1] = p;
  const [X2, Y2, Z2] = q;
  let t0 = red1(X1 * X2); // < 2^290
  let t1 = red1(Y1 * Y2); // < 2^290
  let t2 = red1(Z1 * Z2); // < 2^290
  let t3 = red1((X1 + Y1) * (X2 + Y2)); // < 2^292
  let t4 = t0 + t1; // < 2^291
  t3 = t3 + K - t4; // < 2^301
  t4 = red1((Y1 + Z1) * (Y2 + Z2)); // < 2^292
  let X3 = t1 + t2; // < 2^291
  t4 = t4 + K - X3; // < 2^301
  X3 = red1((X1 + Z1) * (X2 + Z2)); // < 2^292
  let Y3 = t0 + t2; // < 2^291
  Y3 = X3 + K - Y3; // < 2^301
  t0 = 3n * t0; // < 2^292
  t2 = B3 * t2; // < 2^295
  const Z3 = t1 + t2; // < 2^296
  t1 = t1 + K - t2; // < 2^301
  Y3 = B3 * Y3; // < 2^306
  return [
    red(t3 * t1 + K2 - t4 * Y3), // t3·t1 < 2^602, t4·Y3 < 2^607 < K2
    red(t1 * Z3 + Y3 * t0), // < 2^597 + 2^598
    red(Z3 * t4 + t0 * t3), // < 2^597 + 2^593
  ];
}

/** RCB algorithm 9: doubling for a = 0. */
function pdbl(p: J): J {
  const [X, Y, Z] = p;
  let t0 = red1(Y * Y); // < 2^290
  const Z3 = 8n * t0; // < 2^293
  const t1 = red1(Y * Z); // < 2^290
  let t2 = B3 * red1(Z * Z); // < 2^295
  const Y3 = t0 + t2; // < 2^296
  const X3t = t2 * Z3; // < 2^588, the X3 = t2·Z3 of the algorithm, reduced with Y3 below
  t2 = 3n * t2; // < 2^297
  t0 = t0 + K - t2; // < 2^301
  return [
    red(2n * t0 * red1(X * Y)), // < 2^592
    red(X3t + t0 * Y3), // < 2^588 + 2^597
    red(t1 * Z3), // < 2^583
  ];
}

const neg = (p: J): J => [p[0], p[1] === 0n ? 0n : P - p[1], p[2]];
const fromPoint = (p: Point): J => [p.X, p.Y, p.Z];
const toPoint = (p: J): Point => new Point(p[0], p[1], p[2]);

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

/** k·Q for a secret k in [1, n), with a scalar-independent sequence of group operations. */
export function ctMul(q: Point, k: bigint): Point {
  return ctLinComb([q], [k]);
}

/**
 * Σ k_i·Q_i for secret k_i in [1, n), in constant time. Each k_i is split by GLV into two halves below
 * 2^128; each half k is made odd as k | 1 (k + 1 when even) and recoded into 27 odd signed 5-bit digits, so
 * no digit is zero: one shared run of 130 doublings, then per half exactly 27 mixed additions of an entry of
 * the affine table of odd multiples 1·Q … 31·Q (its φ-image for the second half), entry and sign selected by
 * array index, and one complete addition of −Q or the identity (selected by index) to undo the + 1. The
 * tables are multiples of the public Q, computed and normalised (one inversion for all) before any secret
 * is involved; the halves' secret signs only select.
 */
export function ctLinComb(allPoints: Point[], allScalars: bigint[]): Point {
  // The identity (public) contributes nothing and has no affine table.
  const points = allPoints.filter((q) => q.Z !== 0n);
  const scalars = allScalars.filter((_, i) => allPoints[i].Z !== 0n);
  const proj: J[] = [];
  for (const q of points) {
    const b = fromPoint(q);
    const twice = pdbl(b);
    let p = b;
    proj.push(p);
    for (let j = 1; j < 16; j++) proj.push((p = padd(p, twice)));
  }
  const affine = normalizeBatch(proj);
  const tables: A[][] = [];
  const signs: number[] = [];
  const digits: Int8Array[] = [];
  const corrections: J[] = [];
  points.forEach((_, i) => {
    const t1 = affine.slice(16 * i, 16 * i + 16);
    const t2 = t1.map(endoA);
    const { k1, k2, k1neg, k2neg } = split(scalars[i]);
    const halves: [A[], bigint, boolean][] = [
      [t1, k1, k1neg],
      [t2, k2, k2neg],
    ];
    for (const [table, k, negative] of halves) {
      const sign = Number(negative);
      const even = Number(k & 1n) ^ 1;
      tables.push(table);
      signs.push(sign);
      digits.push(oddDigits5(k | 1n));
      const [bx, by] = table[0];
      const signedY = [by, P - by][sign];
      corrections.push([ZERO, [bx, P - signedY, 1n] as J][even]);
    }
  });
  let acc: J = ZERO;
  for (let w = 26; w >= 0; w--) {
    if (w < 26) acc = pdbl(pdbl(pdbl(pdbl(pdbl(acc)))));
    for (let t = 0; t < tables.length; t++) {
      const d = digits[t][w];
      const negD = (d >> 7) & 1; // 1 if the digit is negative
      const e = tables[t][((d ^ -negD) + negD - 1) >> 1]; // |d| = 2j + 1 → entry j
      acc = madd(acc, [e[0], [e[1], P - e[1]][negD ^ signs[t]]]);
    }
  }
  for (const c of corrections) acc = padd(acc, c);
  return toPoint(acc);
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

/** RCB algorithm 8: complete mixed addition p + (x, y) for an affine q (never the identity), 11 products. */
function madd(p: J, q: A): J {
  const [X1, Y1, Z1] = p;
  const [X2, Y2] = q;
  let t0 = red1(X1 * X2); // < 2^290
  let t1 = red1(Y1 * Y2); // < 2^290
  let t3 = red1((X2 + Y2) * (X1 + Y1)); // < 2^292
  const t4 = t0 + t1; // < 2^291
  t3 = t3 + K - t4; // < 2^301
  const t4b = red1(Y2 * Z1) + Y1; // < 2^291
  let Y3 = red1(X2 * Z1) + X1; // < 2^291
  t0 = 3n * t0; // < 2^292
  const t2 = B3 * Z1; // < 2^261
  const Z3 = t1 + t2; // < 2^291
  t1 = t1 + K - t2; // < 2^301
  Y3 = B3 * Y3; // < 2^296
  return [
    red(t3 * t1 + K2 - t4b * Y3), // t3·t1 < 2^602, t4b·Y3 < 2^587 < K2
    red(t1 * Z3 + Y3 * t0), // < 2^592 + 2^588
    red(Z3 * t4b + t0 * t3), // < 2^582 + 2^593
  ];
}

/** Affine (x, y) of projective points with Z ≠ 0, with one field inversion for all (Montgomery's trick). */
function normalizeBatch(points: J[]): A[] {
  const prefix: bigint[] = new Array<bigint>(points.length);
  let acc = 1n;
  for (let i = 0; i < points.length; i++) {
    prefix[i] = acc;
    acc = mul(acc, points[i][2]);
  }
  let inv = invertPublic(acc, P); // only public points (tables of G, U and of public MSM bases) come here
  const out: A[] = new Array<A>(points.length);
  for (let i = points.length - 1; i >= 0; i--) {
    const zInv = mul(inv, prefix[i]);
    inv = mul(inv, points[i][2]);
    out[i] = [mul(points[i][0], zInv), mul(points[i][1], zInv)];
  }
  return out;
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
 * additions and no doubling, public or secret. The 4224-point table is built on first use (~20 ms).
 */
class FixedBase {
  private rows?: A[][];

  constructor(readonly point: Point) {}

  private table(): A[][] {
    if (this.rows) return this.rows;
    const all: J[] = [];
    let base = fromPoint(this.point);
    for (let i = 0; i < FIXED_ROWS; i++) {
      const twice = pdbl(base);
      let p = base;
      all.push(p);
      for (let j = 1; j < FIXED_HALF; j++) all.push((p = padd(p, twice)));
      base = padd(p, base); // 255·2^(8i)·B + 2^(8i)·B = 2^(8(i+1))·B
    }
    const affine = normalizeBatch(all);
    const rows: A[][] = [];
    for (let i = 0; i < FIXED_ROWS; i++) rows.push(affine.slice(i * FIXED_HALF, (i + 1) * FIXED_HALF));
    this.rows = rows;
    return rows;
  }

  /** k·B for a public k in [0, n), or null for the identity (variable time). */
  mulPublic(k: bigint): J | null {
    if (k === 0n) return null;
    const rows = this.table();
    const even = (k & 1n) === 0n;
    const d = oddDigits8(even ? N - k : k);
    let acc: J = ZERO;
    for (let i = 0; i < FIXED_ROWS; i++) {
      const di = d[i];
      const e = rows[i][(Math.abs(di) - 1) >> 1];
      acc = madd(acc, di > 0 ? e : [e[0], P - e[1]]);
    }
    return even ? neg(acc) : acc;
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
    let acc: J = ZERO;
    for (let i = 0; i < FIXED_ROWS; i++) {
      const di = d[i];
      const sign = (di >> 15) & 1; // 1 if negative
      const e = rows[i][((di ^ -sign) + sign - 1) >> 1];
      acc = madd(acc, [e[0], [e[1], P - e[1]][sign]]);
    }
    return [acc, neg(acc)][even];
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
  const twice = pdbl(b);
  const odd: J[] = [b];
  for (let j = 1; j < 8; j++) odd.push(padd(odd[j - 1], twice));
  return odd;
}

// The public tables of a point (affine odd multiples, and their images under φ for GLV) by point identity:
// the same capsule points and keys come back for every cfrag of a capsule and every kfrag of a policy. Only
// public points reach `msmPublic`; a WeakMap lets them go with their point.
const PUBLIC_TABLES = new WeakMap<Point, { odd: A[]; endo?: A[] }>();

// Affine points here are never the identity (odd multiples up to 15 of a point of prime order), and no
// curve point has y = 0 (x³ + 7 has no root in F_p), so P − y is the negation.
const negA = (a: A): A => [a[0], P - a[1]];
const endoA = (a: A): A => [mul(a[0], BETA), a[1]];

/**
 * Σ k_i·Q_i for public scalars (variable time), as a projective triple; Z = 0 for the identity.
 * Straus' interleaving over one shared run of ≤ 128 doublings: scalars of 128 bits or more are split by GLV
 * into two halves, shorter ones (and n − k for short k, i.e. small negative scalars) are used as they are;
 * scalars ±1 add their point once at the end; registered fixed bases (G, U) use their tables and no
 * doublings. The width-5 tables are affine (all new ones normalised with one inversion), so every digit
 * costs a mixed addition.
 */
function msmPublic(points: Point[], scalars: bigint[]): J {
  let tail: J = ZERO;
  const vars: [Point, bigint][] = [];
  points.forEach((q, i) => {
    const k = ((scalars[i] % N) + N) % N;
    // Z = 0 is the identity (noble keeps coordinates reduced); noble's is0() is an equals() with 4 products.
    if (k === 0n || q.Z === 0n) return;
    const fixed = FIXED.get(q);
    if (fixed) {
      const r = fixed.mulPublic(k);
      if (r) tail = padd(tail, r);
    } else if (k === 1n || k === N - 1n) {
      const b = fromPoint(q);
      tail = padd(tail, k === 1n ? b : neg(b));
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
  const nafs: Int8Array[] = [];
  for (const [q, k] of vars) {
    const t = PUBLIC_TABLES.get(q) as { odd: A[]; endo?: A[] };
    if (k < HALF_BITS || N - k < HALF_BITS) {
      tables.push(k < HALF_BITS ? t.odd : t.odd.map(negA));
      nafs.push(wnaf5(k < HALF_BITS ? k : N - k));
      continue;
    }
    const { k1, k2, k1neg, k2neg } = split(k);
    t.endo ??= t.odd.map(endoA);
    tables.push(k1neg ? t.odd.map(negA) : t.odd, k2neg ? t.endo.map(negA) : t.endo);
    nafs.push(wnaf5(k1), wnaf5(k2));
  }
  let top = -1;
  for (const n of nafs) for (let i = n.length - 1; i > top; i--) if (n[i] !== 0) top = i;
  let acc: J = ZERO;
  for (let i = top; i >= 0; i--) {
    acc = pdbl(acc);
    for (let t = 0; t < nafs.length; t++) {
      const d = nafs[t][i];
      if (d > 0) acc = madd(acc, tables[t][d >> 1]);
      else if (d < 0) acc = madd(acc, negA(tables[t][-d >> 1]));
    }
  }
  return padd(acc, tail);
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
  return msmPublic(points, scalars)[2] === 0n;
}

/**
 * x(Σ k_i·Q_i) mod n = r for public scalars (the ECDSA acceptance test), without an inversion: with
 * R = (X : Y : Z), x = X/Z, and x mod n = r means x = r or (if r + n < p) x = r + n.
 */
export function linCombXModNPublic(points: Point[], scalars: bigint[], r: bigint): boolean {
  const [X, , Z] = msmPublic(points, scalars);
  if (Z === 0n || r <= 0n || r >= N) return false;
  if (mul(r, Z) === X) return true;
  return r + N < P && mul(r + N, Z) === X;
}

/** x^(2^n) */
function sqrN(x: bigint, n: number): bigint {
  // Alternate one-fold and two-fold reductions, ending on a full one: a value < 2^257 squares and folds
  // once to < 2^292, whose square folds twice to < 2^256 + 2^139 (then < p). 3 folds per 2 squarings.
  for (let i = 0; i < n; i++) x = (n - i) % 2 === 0 ? red1(x * x) : red(x * x);
  return x;
}

/**
 * √a = a^((p+1)/4) (p ≡ 3 mod 4) by libsecp256k1's addition chain (253 squarings, 13 products) on the
 * folding multiplication; null if a is not a square.
 */
export function sqrtP(a: bigint): bigint | null {
  const x2 = mul(sqrN(a, 1), a);
  const x3 = mul(sqrN(x2, 1), a);
  const x6 = mul(sqrN(x3, 3), x3);
  const x9 = mul(sqrN(x6, 3), x3);
  const x11 = mul(sqrN(x9, 2), x2);
  const x22 = mul(sqrN(x11, 11), x11);
  const x44 = mul(sqrN(x22, 22), x22);
  const x88 = mul(sqrN(x44, 44), x44);
  const x176 = mul(sqrN(x88, 88), x88);
  const x220 = mul(sqrN(x176, 44), x44);
  const x223 = mul(sqrN(x220, 3), x3);
  const t = mul(sqrN(mul(sqrN(x223, 23), x22), 6), x2);
  const root = sqrN(t, 2);
  return mul(root, root) === a ? root : null;
}

/**
 * The point with affine x and the given parity of y, or null if x ≥ p or x³ + 7 is not a square (x is not
 * on the curve). Cofactor 1: any such point is in the group.
 */
export function liftX(x: bigint, odd: boolean): Point | null {
  if (x >= P) return null;
  const y = sqrtP(reduce(mul(mul(x, x), x) + 7n));
  if (y === null) return null;
  return new Point(x, ((y & 1n) === 1n) === odd ? y : P - y, 1n);
}

/**
 * @internal The raw formulas on noble points, for the tests that compare them with noble's `add`/`double`
 * on edge cases (identity, P + P, P + (−P)). `madd` needs an affine, non-identity second operand.
 */
export const formulasForTests = {
  split,
  padd: (p: Point, q: Point): Point => toPoint(padd(fromPoint(p), fromPoint(q))),
  pdbl: (p: Point): Point => toPoint(pdbl(fromPoint(p))),
  madd: (p: Point, q: Point): Point => {
    const { x, y } = q.toAffine();
    return toPoint(madd(fromPoint(p), [x, y]));
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
  return normalizeBatch(points.map(fromPoint)).map(([x, y]) => ({ x, y }));
}
