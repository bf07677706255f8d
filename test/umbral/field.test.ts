// src/umbral/field.ts (limbs in doubles) against BigInt arithmetic modulo p, on random, edge-case and
// worst-case-bounded inputs; and the own ECDSA signer against noble's verifier.
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { randomBytes } from "@noble/hashes/utils";
import {
  fe,
  feAdd,
  feCarry,
  feFromBig,
  feMul,
  feNeg,
  feScale,
  feSqr,
  feSub,
  feToBig,
  type Fe,
} from "../../src/umbral/field";
import { SecretKey, Signer } from "../../src/umbral";
import { sha256 } from "../../src/umbral/hash";

const P = secp256k1.Point.Fp.ORDER;
const mod = (x: bigint): bigint => ((x % P) + P) % P;
const random = (): bigint => BigInt("0x" + Buffer.from(randomBytes(32)).toString("hex")) % P;
const EDGE = [0n, 1n, 2n, 977n, 1n << 32n, (1n << 32n) + 977n, P >> 1n, (P >> 1n) + 1n, P - 2n, P - 1n, 1n << 255n];
/** An element whose 12 limbs are all ±bound (random signs): the largest inputs the bounds allow. */
function extreme(bound: number): Fe {
  const a = fe();
  for (let i = 0; i < 12; i++) a[i] = (Math.random() < 0.5 ? -1 : 1) * bound;
  return a;
}
const maxLimb = (a: Fe): number => Math.max(...Array.from(a, Math.abs));

describe("umbral field (limbs in doubles)", function () {
  it("round-trips BigInts and computes a·b, a², a ± b, −a modulo p like BigInt on edge and random values", function () {
    const values = [...EDGE, ...Array.from({ length: 300 }, random)];
    const o = fe();
    for (let i = 0; i < values.length; i++) {
      const a = values[i];
      const b = values[(7 * i + 3) % values.length];
      const fa = feFromBig(a);
      const fb = feFromBig(b);
      expect(feToBig(fa)).to.equal(a);
      feMul(o, fa, fb);
      expect(feToBig(o), `${a}·${b}`).to.equal(mod(a * b));
      expect(maxLimb(o)).to.be.at.most(2 ** 21 + 32);
      feSqr(o, fa);
      expect(feToBig(o)).to.equal(mod(a * a));
      feAdd(o, fa, fb);
      expect(feToBig(o)).to.equal(mod(a + b));
      feSub(o, fa, fb);
      expect(feToBig(o)).to.equal(mod(a - b));
      feNeg(o, fa);
      expect(feToBig(o)).to.equal(mod(-a));
      feScale(o, fa, 21);
      feCarry(o);
      expect(feToBig(o)).to.equal(mod(21n * a));
      expect(maxLimb(o)).to.be.at.most(2 ** 22);
    }
  });

  it("stays exact at the documented bounds: products of m_a- by m_b-unit elements with m_a·m_b = 21", function () {
    const o = fe();
    for (let i = 0; i < 200; i++) {
      for (const [ma, mb] of [
        [21, 1],
        [7, 3],
        [3, 7],
        [4, 5],
      ]) {
        const a = extreme(ma * 2 ** 22);
        const b = extreme(mb * 2 ** 22);
        feMul(o, a, b);
        expect(feToBig(o)).to.equal(mod(feToBig(a) * feToBig(b)));
        expect(maxLimb(o)).to.be.at.most(2 ** 21 + 32);
      }
      const s = extreme(4 * 2 ** 22);
      feSqr(o, s);
      expect(feToBig(o)).to.equal(mod(feToBig(s) ** 2n));
      const big = extreme(2 ** 49);
      const v = feToBig(big);
      feCarry(big);
      expect(feToBig(big)).to.equal(v);
      expect(maxLimb(big)).to.be.at.most(2 ** 22);
    }
  });

  it("reduces redundant inputs (random limbs at every allowed multiple) like BigInt, to limbs ≤ 2^21 + 2^5", function () {
    const o = fe();
    const randomLimbs = (bound: number): Fe => {
      const a = fe();
      for (let i = 0; i < 12; i++) a[i] = Math.round((2 * Math.random() - 1) * bound);
      return a;
    };
    for (let i = 0; i < 300; i++) {
      const [ma, mb] = [
        [1, 1],
        [2, 2],
        [4, 4],
        [21, 1],
        [3, 7],
      ][i % 5];
      const a = randomLimbs(ma * 2 ** 22);
      const b = randomLimbs(mb * 2 ** 22);
      feMul(o, a, b);
      expect(feToBig(o)).to.equal(mod(feToBig(a) * feToBig(b)));
      expect(maxLimb(o)).to.be.at.most(2 ** 21 + 32);
      if (ma === mb) {
        feSqr(o, a);
        expect(feToBig(o)).to.equal(mod(feToBig(a) ** 2n));
        expect(maxLimb(o)).to.be.at.most(2 ** 21 + 32);
      }
    }
  });

  it("handles 0 and p − 1 products, and writes into an output that is also an input", function () {
    const a = feFromBig(P - 1n);
    feMul(a, a, a);
    expect(feToBig(a)).to.equal(1n);
    const z = feFromBig(0n);
    feMul(z, z, feFromBig(random()));
    expect(feToBig(z)).to.equal(0n);
    const b = feFromBig(P - 1n);
    feSqr(b, b);
    expect(feToBig(b)).to.equal(1n);
  });
});

describe("umbral Signer (own hedged ECDSA)", function () {
  it("makes low-S signatures that noble verifies, different each time, never verifying another message", function () {
    const sk = SecretKey.random();
    const signer = new Signer(sk);
    const pk = sk.publicKey().toCompressedBytes();
    for (let i = 0; i < 30; i++) {
      const msg = randomBytes(1 + i);
      const sig = signer.sign(msg);
      const again = signer.sign(msg);
      expect(sig.equals(again)).to.equal(false);
      const compact = sig.toBEBytes();
      expect(secp256k1.verify(compact, sha256(msg), pk, { prehash: false, lowS: true })).to.equal(true);
      expect(secp256k1.verify(compact, sha256(randomBytes(8)), pk, { prehash: false })).to.equal(false);
      expect(sig.verify(sk.publicKey(), msg)).to.equal(true);
      expect(sig.s <= secp256k1.Point.Fn.ORDER >> 1n).to.equal(true);
    }
  });
});
