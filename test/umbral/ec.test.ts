// The scalar multiplications of src/umbral/ec.ts and the ECDSA verifier, cross-checked against noble's
// reference `multiply` / `verify` on random and edge-case inputs.
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { ctLinComb, ctMul, linCombPublic } from "../../src/umbral/ec";
import { randomScalar } from "../../src/umbral/curve";
import { verifyDigest } from "../../src/umbral/signing";
import { T } from "./oracle";

const Pt = secp256k1.Point;
const N = Pt.Fn.ORDER;
const LAMBDA = 0x5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72n;
// A point in projective form with Z ≠ 1, as the arithmetic sees intermediate results.
const randomPoint = () => Pt.BASE.multiply(randomScalar()).add(Pt.BASE.multiply(randomScalar()));
const EDGE = [
  1n,
  2n,
  3n,
  15n,
  16n,
  17n,
  N - 1n,
  N - 2n,
  N >> 1n,
  (N >> 1n) + 1n,
  1n << 128n,
  (1n << 128n) - 1n,
  LAMBDA,
  N - LAMBDA,
];

describe("umbral ec arithmetic", function () {
  it("ctMul equals noble's multiply for edge-case and random scalars", function () {
    const q = randomPoint();
    for (const k of [...EDGE, ...Array.from({ length: 100 }, randomScalar)]) {
      expect(ctMul(q, k).equals(q.multiply(k)), `k = ${k}`).to.equal(true);
    }
  });

  it("ctMul handles bases G, −G and points where table additions meet doublings", function () {
    for (const q of [Pt.BASE, Pt.BASE.negate(), Pt.BASE.multiply(LAMBDA)]) {
      for (const k of EDGE) expect(ctMul(q, k).equals(q.multiply(k))).to.equal(true);
    }
  });

  it("ctLinComb equals the sum of noble products, including cancelling terms", function () {
    for (let i = 0; i < 10; i++) {
      const ps = [randomPoint(), randomPoint(), randomPoint()];
      const ks = [randomScalar(), randomScalar(), randomScalar()];
      const expected = ps.reduce((acc, p, j) => acc.add(p.multiply(ks[j])), Pt.ZERO);
      expect(ctLinComb(ps, ks).equals(expected)).to.equal(true);
    }
    const q = randomPoint();
    expect(ctLinComb([q, q], [5n, N - 5n]).is0()).to.equal(true);
  });

  it("linCombPublic equals noble for random, edge and zero scalars", function () {
    for (let i = 0; i < 20; i++) {
      const ps = [randomPoint(), randomPoint()];
      const ks = [i < EDGE.length ? EDGE[i] : randomScalar(), randomScalar()];
      const expected = ps[0].multiply(ks[0]).add(ps[1].multiply(ks[1]));
      expect(linCombPublic(ps, ks).equals(expected)).to.equal(true);
    }
    const q = randomPoint();
    expect(linCombPublic([q], [0n]).is0()).to.equal(true);
    expect(linCombPublic([q, q], [7n, N - 7n]).is0()).to.equal(true);
    expect(linCombPublic([Pt.ZERO, q], [3n, 2n]).equals(q.double())).to.equal(true);
  });

  it("ECDSA verification agrees with noble's on valid, wrong-message, wrong-key and high-s signatures", function () {
    for (let i = 0; i < 15; i++) {
      const sk = T.SecretKey.random();
      const digest = secp256k1.utils.randomSecretKey();
      const sig = secp256k1.sign(digest, sk.toBEBytes(), { prehash: false, lowS: true });
      const ours = T.Signature.fromBEBytes(sig.toBytes("compact"));
      expect(verifyDigest(sk.publicKey(), digest, ours)).to.equal(true);
      expect(verifyDigest(T.SecretKey.random().publicKey(), digest, ours)).to.equal(false);
      const other = digest.slice();
      other[0] ^= 1;
      expect(verifyDigest(sk.publicKey(), other, ours)).to.equal(false);
      const high = T.Signature.fromBEBytes(new secp256k1.Signature(sig.r, N - sig.s).toBytes("compact"));
      expect(verifyDigest(sk.publicKey(), digest, high)).to.equal(false);
      expect(
        secp256k1.verify(high.toBEBytes(), digest, sk.publicKey().toCompressedBytes(), { prehash: false, lowS: false }),
      ).to.equal(true);
    }
  });
});
