// The secp256k1 base field F_p, p = 2^256 − 2^32 − 977, on JavaScript doubles instead of BigInt: an
// element is a Float64Array of 12 signed limbs in radix 2^22, x = Σ l_i·2^(22i). Every BigInt operation
// allocates a new heap object; these functions write into arrays the caller owns, so the point formulas in
// `ec.ts` run without allocation or garbage collection (a product here costs about a third of a BigInt
// product with its reduction). Integer arithmetic on doubles is exact while every value stays below 2^53,
// and its timing does not depend on the values (no subnormals: all values are integers), unlike BigInt's.
//
// Bounds. A *unit* element has |l_i| ≤ 2^22; every product, square and `feCarry` returns one (in fact
// |l_i| ≤ 2^21 + 2^5), and a sum or difference of m units is an "m-unit" element. A column of a product of
// an m_a-unit by an m_b-unit element is a sum of at most 12 terms ≤ m_a·m_b·2^44 ≤ 2^52 when
// m_a·m_b ≤ 21, which is the one rule callers follow (`ec.ts` writes the multiples next to every line).
//
// Limbs are signed and balanced: a carry step rounds x to the nearest multiple of 2^22 with
// h = (x + MAGIC) − MAGIC (MAGIC = 1.5·2^74: doubles in [2^74, 2^75) are spaced 2^22 apart, so the
// addition itself rounds; exact for |x| < 2^73), keeps x − h ∈ [−2^21, 2^21] and carries h / 2^22. Hence
// subtraction needs no offset and negation is limb-wise. Reduction: 2^264 ≡ 2^8·(2^32 + 977) =
// F1·2^22 + F0 (F1 = 2^18, F0 = 977·2^8), so column 12 + j of a product folds into columns j and j + 1
// once the high columns are carried to 22 bits (their products with F0, F1 stay below 2^41).
//
// The representation is redundant: only `feToBig` (and `feIsZero`, `feEquals`) see the canonical value.
export type Fe = Float64Array;

const RINV = 2 ** -22;
const MAGIC = 1.5 * 2 ** 74;
const F0 = 977 * 256;
const F1 = 2 ** 18;
const P = 2n ** 256n - 2n ** 32n - 977n;
const MASK22 = (1n << 22n) - 1n;

// Elements are cut from shared slabs: a Float64Array of 12 doubles (96 bytes) gets its own off-heap backing
// store, which cost 4-7× more than a view into a slab here. A slab lives as long as any element cut from it.
const SLAB_ELEMENTS = 64;
let slab = new Float64Array(12 * SLAB_ELEMENTS);
let slabUsed = 0;

/** A new element, zero. */
export function fe(): Fe {
  if (slabUsed === SLAB_ELEMENTS) {
    slab = new Float64Array(12 * SLAB_ELEMENTS);
    slabUsed = 0;
  }
  return slab.subarray(12 * slabUsed, 12 * ++slabUsed);
}

/** The element of a BigInt x in [0, 2^264), into `o`. */
export function feFromBig(x: bigint, o: Fe = fe()): Fe {
  for (let i = 0; i < 12; i++) {
    o[i] = Number(x & MASK22);
    x >>= 22n;
  }
  return o;
}

/** The canonical value in [0, p) (the sum of the signed limbs, reduced). */
export function feToBig(a: Fe): bigint {
  let x = 0n;
  for (let i = 11; i >= 0; i--) x = (x << 22n) + BigInt(a[i]);
  x %= P;
  return x < 0n ? x + P : x;
}

export function feIsZero(a: Fe): boolean {
  return feToBig(a) === 0n;
}

export function feCopy(o: Fe, a: Fe): Fe {
  o.set(a);
  return o;
}

/** o = a + b (limb-wise: the multiples of the operands add). */
export function feAdd(o: Fe, a: Fe, b: Fe): void {
  for (let i = 0; i < 12; i++) o[i] = a[i] + b[i];
}

/** o = a − b (limb-wise; signed limbs need no multiple of p). */
export function feSub(o: Fe, a: Fe, b: Fe): void {
  for (let i = 0; i < 12; i++) o[i] = a[i] - b[i];
}

/** o = −a. */
export function feNeg(o: Fe, a: Fe): void {
  for (let i = 0; i < 12; i++) o[i] = -a[i];
}

/** o = k·a for a small integer k, limb-wise (the multiple grows k-fold: `feCarry` brings it back). */
export function feScale(o: Fe, a: Fe, k: number): void {
  for (let i = 0; i < 12; i++) o[i] = k * a[i];
}

/** Carries a in place to a unit element (for limbs below 2^50: the top carry times F0 stays small). */
export function feCarry(a: Fe): void {
  let h = 0;
  for (let i = 0; i < 11; i++) {
    const x = a[i] + h;
    const r = x + MAGIC - MAGIC;
    a[i] = x - r;
    h = r * RINV;
  }
  const x = a[11] + h;
  const r = x + MAGIC - MAGIC;
  a[11] = x - r;
  h = r * RINV;
  // The carry out of limb 11 has weight 2^264 ≡ F1·2^22 + F0.
  a[0] += F0 * h;
  a[1] += F1 * h;
  for (let i = 0; i < 3; i++) {
    const y = a[i] + MAGIC - MAGIC;
    a[i] -= y;
    a[i + 1] += y * RINV;
  }
}

// feMul and feSqr are written out column by column (column k = Σ a_i·b_(k−i)), on local variables: the
// loop form with an array of columns measured 3× slower. Both end with the same reduction, commented in feMul.
// prettier-ignore
export function feMul(o: Fe, a: Fe, b: Fe): void {
  const a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7], a8 = a[8], a9 = a[9], a10 = a[10], a11 = a[11];
  const b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], b4 = b[4], b5 = b[5], b6 = b[6], b7 = b[7], b8 = b[8], b9 = b[9], b10 = b[10], b11 = b[11];
  let t0 = a0 * b0;
  let t1 = a0 * b1 + a1 * b0;
  let t2 = a0 * b2 + a1 * b1 + a2 * b0;
  let t3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  let t4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
  let t5 = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0;
  let t6 = a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0;
  let t7 = a0 * b7 + a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1 + a7 * b0;
  let t8 = a0 * b8 + a1 * b7 + a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2 + a7 * b1 + a8 * b0;
  let t9 = a0 * b9 + a1 * b8 + a2 * b7 + a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3 + a7 * b2 + a8 * b1 + a9 * b0;
  let t10 = a0 * b10 + a1 * b9 + a2 * b8 + a3 * b7 + a4 * b6 + a5 * b5 + a6 * b4 + a7 * b3 + a8 * b2 + a9 * b1 + a10 * b0;
  let t11 = a0 * b11 + a1 * b10 + a2 * b9 + a3 * b8 + a4 * b7 + a5 * b6 + a6 * b5 + a7 * b4 + a8 * b3 + a9 * b2 + a10 * b1 + a11 * b0;
  let t12 = a1 * b11 + a2 * b10 + a3 * b9 + a4 * b8 + a5 * b7 + a6 * b6 + a7 * b5 + a8 * b4 + a9 * b3 + a10 * b2 + a11 * b1;
  let t13 = a2 * b11 + a3 * b10 + a4 * b9 + a5 * b8 + a6 * b7 + a7 * b6 + a8 * b5 + a9 * b4 + a10 * b3 + a11 * b2;
  let t14 = a3 * b11 + a4 * b10 + a5 * b9 + a6 * b8 + a7 * b7 + a8 * b6 + a9 * b5 + a10 * b4 + a11 * b3;
  let t15 = a4 * b11 + a5 * b10 + a6 * b9 + a7 * b8 + a8 * b7 + a9 * b6 + a10 * b5 + a11 * b4;
  let t16 = a5 * b11 + a6 * b10 + a7 * b9 + a8 * b8 + a9 * b7 + a10 * b6 + a11 * b5;
  let t17 = a6 * b11 + a7 * b10 + a8 * b9 + a9 * b8 + a10 * b7 + a11 * b6;
  let t18 = a7 * b11 + a8 * b10 + a9 * b9 + a10 * b8 + a11 * b7;
  let t19 = a8 * b11 + a9 * b10 + a10 * b9 + a11 * b8;
  let t20 = a9 * b11 + a10 * b10 + a11 * b9;
  let t21 = a10 * b11 + a11 * b10;
  let t22 = a11 * b11;
  let h: number;
  // High columns to balanced 22-bit digits (t23 is the carry out of t22).
  h = t12 + MAGIC - MAGIC; t12 -= h; t13 += h * RINV;
  h = t13 + MAGIC - MAGIC; t13 -= h; t14 += h * RINV;
  h = t14 + MAGIC - MAGIC; t14 -= h; t15 += h * RINV;
  h = t15 + MAGIC - MAGIC; t15 -= h; t16 += h * RINV;
  h = t16 + MAGIC - MAGIC; t16 -= h; t17 += h * RINV;
  h = t17 + MAGIC - MAGIC; t17 -= h; t18 += h * RINV;
  h = t18 + MAGIC - MAGIC; t18 -= h; t19 += h * RINV;
  h = t19 + MAGIC - MAGIC; t19 -= h; t20 += h * RINV;
  h = t20 + MAGIC - MAGIC; t20 -= h; t21 += h * RINV;
  h = t21 + MAGIC - MAGIC; t21 -= h; t22 += h * RINV;
  h = t22 + MAGIC - MAGIC; t22 -= h; const t23 = h * RINV;
  // 2^264 ≡ F1·2^22 + F0: column 12 + j folds into columns j and j + 1; t23 (2^506) into 1, 2, 11.
  t0 += F0 * t12;
  t1 += F0 * t13 + F1 * t12;
  t2 += F0 * t14 + F1 * t13;
  t3 += F0 * t15 + F1 * t14;
  t4 += F0 * t16 + F1 * t15;
  t5 += F0 * t17 + F1 * t16;
  t6 += F0 * t18 + F1 * t17;
  t7 += F0 * t19 + F1 * t18;
  t8 += F0 * t20 + F1 * t19;
  t9 += F0 * t21 + F1 * t20;
  t10 += F0 * t22 + F1 * t21;
  t11 += F1 * t22 + F0 * t23;
  t1 += 15632 * t23;
  t2 += 16384 * t23;
  // Carry through the low columns; the carry out of t11 (weight 2^264) folds again.
  h = t0 + MAGIC - MAGIC; t0 -= h; t1 += h * RINV;
  h = t1 + MAGIC - MAGIC; t1 -= h; t2 += h * RINV;
  h = t2 + MAGIC - MAGIC; t2 -= h; t3 += h * RINV;
  h = t3 + MAGIC - MAGIC; t3 -= h; t4 += h * RINV;
  h = t4 + MAGIC - MAGIC; t4 -= h; t5 += h * RINV;
  h = t5 + MAGIC - MAGIC; t5 -= h; t6 += h * RINV;
  h = t6 + MAGIC - MAGIC; t6 -= h; t7 += h * RINV;
  h = t7 + MAGIC - MAGIC; t7 -= h; t8 += h * RINV;
  h = t8 + MAGIC - MAGIC; t8 -= h; t9 += h * RINV;
  h = t9 + MAGIC - MAGIC; t9 -= h; t10 += h * RINV;
  h = t10 + MAGIC - MAGIC; t10 -= h; t11 += h * RINV;
  h = t11 + MAGIC - MAGIC; t11 -= h; h *= RINV;
  t0 += F0 * h;
  t1 += F1 * h;
  h = t0 + MAGIC - MAGIC; t0 -= h; t1 += h * RINV;
  h = t1 + MAGIC - MAGIC; t1 -= h; t2 += h * RINV;
  h = t2 + MAGIC - MAGIC; t2 -= h; t3 += h * RINV;
  o[0] = t0; o[1] = t1; o[2] = t2; o[3] = t3; o[4] = t4; o[5] = t5; o[6] = t6; o[7] = t7; o[8] = t8; o[9] = t9; o[10] = t10; o[11] = t11;
}

// prettier-ignore
export function feSqr(o: Fe, a: Fe): void {
  const a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7], a8 = a[8], a9 = a[9], a10 = a[10], a11 = a[11];
  const d0 = 2 * a0, d1 = 2 * a1, d2 = 2 * a2, d3 = 2 * a3, d4 = 2 * a4, d5 = 2 * a5, d6 = 2 * a6, d7 = 2 * a7, d8 = 2 * a8, d9 = 2 * a9, d10 = 2 * a10;
  let t0 = a0 * a0;
  let t1 = d0 * a1;
  let t2 = d0 * a2 + a1 * a1;
  let t3 = d0 * a3 + d1 * a2;
  let t4 = d0 * a4 + d1 * a3 + a2 * a2;
  let t5 = d0 * a5 + d1 * a4 + d2 * a3;
  let t6 = d0 * a6 + d1 * a5 + d2 * a4 + a3 * a3;
  let t7 = d0 * a7 + d1 * a6 + d2 * a5 + d3 * a4;
  let t8 = d0 * a8 + d1 * a7 + d2 * a6 + d3 * a5 + a4 * a4;
  let t9 = d0 * a9 + d1 * a8 + d2 * a7 + d3 * a6 + d4 * a5;
  let t10 = d0 * a10 + d1 * a9 + d2 * a8 + d3 * a7 + d4 * a6 + a5 * a5;
  let t11 = d0 * a11 + d1 * a10 + d2 * a9 + d3 * a8 + d4 * a7 + d5 * a6;
  let t12 = d1 * a11 + d2 * a10 + d3 * a9 + d4 * a8 + d5 * a7 + a6 * a6;
  let t13 = d2 * a11 + d3 * a10 + d4 * a9 + d5 * a8 + d6 * a7;
  let t14 = d3 * a11 + d4 * a10 + d5 * a9 + d6 * a8 + a7 * a7;
  let t15 = d4 * a11 + d5 * a10 + d6 * a9 + d7 * a8;
  let t16 = d5 * a11 + d6 * a10 + d7 * a9 + a8 * a8;
  let t17 = d6 * a11 + d7 * a10 + d8 * a9;
  let t18 = d7 * a11 + d8 * a10 + a9 * a9;
  let t19 = d8 * a11 + d9 * a10;
  let t20 = d9 * a11 + a10 * a10;
  let t21 = d10 * a11;
  let t22 = a11 * a11;
  let h: number;
  // High columns to balanced 22-bit digits (t23 is the carry out of t22).
  h = t12 + MAGIC - MAGIC; t12 -= h; t13 += h * RINV;
  h = t13 + MAGIC - MAGIC; t13 -= h; t14 += h * RINV;
  h = t14 + MAGIC - MAGIC; t14 -= h; t15 += h * RINV;
  h = t15 + MAGIC - MAGIC; t15 -= h; t16 += h * RINV;
  h = t16 + MAGIC - MAGIC; t16 -= h; t17 += h * RINV;
  h = t17 + MAGIC - MAGIC; t17 -= h; t18 += h * RINV;
  h = t18 + MAGIC - MAGIC; t18 -= h; t19 += h * RINV;
  h = t19 + MAGIC - MAGIC; t19 -= h; t20 += h * RINV;
  h = t20 + MAGIC - MAGIC; t20 -= h; t21 += h * RINV;
  h = t21 + MAGIC - MAGIC; t21 -= h; t22 += h * RINV;
  h = t22 + MAGIC - MAGIC; t22 -= h; const t23 = h * RINV;
  // 2^264 ≡ F1·2^22 + F0: column 12 + j folds into columns j and j + 1; t23 (2^506) into 1, 2, 11.
  t0 += F0 * t12;
  t1 += F0 * t13 + F1 * t12;
  t2 += F0 * t14 + F1 * t13;
  t3 += F0 * t15 + F1 * t14;
  t4 += F0 * t16 + F1 * t15;
  t5 += F0 * t17 + F1 * t16;
  t6 += F0 * t18 + F1 * t17;
  t7 += F0 * t19 + F1 * t18;
  t8 += F0 * t20 + F1 * t19;
  t9 += F0 * t21 + F1 * t20;
  t10 += F0 * t22 + F1 * t21;
  t11 += F1 * t22 + F0 * t23;
  t1 += 15632 * t23;
  t2 += 16384 * t23;
  // Carry through the low columns; the carry out of t11 (weight 2^264) folds again.
  h = t0 + MAGIC - MAGIC; t0 -= h; t1 += h * RINV;
  h = t1 + MAGIC - MAGIC; t1 -= h; t2 += h * RINV;
  h = t2 + MAGIC - MAGIC; t2 -= h; t3 += h * RINV;
  h = t3 + MAGIC - MAGIC; t3 -= h; t4 += h * RINV;
  h = t4 + MAGIC - MAGIC; t4 -= h; t5 += h * RINV;
  h = t5 + MAGIC - MAGIC; t5 -= h; t6 += h * RINV;
  h = t6 + MAGIC - MAGIC; t6 -= h; t7 += h * RINV;
  h = t7 + MAGIC - MAGIC; t7 -= h; t8 += h * RINV;
  h = t8 + MAGIC - MAGIC; t8 -= h; t9 += h * RINV;
  h = t9 + MAGIC - MAGIC; t9 -= h; t10 += h * RINV;
  h = t10 + MAGIC - MAGIC; t10 -= h; t11 += h * RINV;
  h = t11 + MAGIC - MAGIC; t11 -= h; h *= RINV;
  t0 += F0 * h;
  t1 += F1 * h;
  h = t0 + MAGIC - MAGIC; t0 -= h; t1 += h * RINV;
  h = t1 + MAGIC - MAGIC; t1 -= h; t2 += h * RINV;
  h = t2 + MAGIC - MAGIC; t2 -= h; t3 += h * RINV;
  o[0] = t0; o[1] = t1; o[2] = t2; o[3] = t3; o[4] = t4; o[5] = t5; o[6] = t6; o[7] = t7; o[8] = t8; o[9] = t9; o[10] = t10; o[11] = t11;
}
