// The scalar multiplications of src/umbral/ec.ts and the ECDSA verifier, cross-checked against noble's
// reference `multiply` / `verify` on random and edge-case inputs.
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { _splitEndoScalar } from "@noble/curves/abstract/weierstrass";
import {
  ctLinComb,
  ctMul,
  ctMulEach,
  ctMulOfSum,
  fixedMulSecret,
  formulasForTests as F,
  invertPublic,
  isZeroSumPublic,
  linCombPublic,
  linCombXModNPublic,
  liftX,
  oddDigits8,
  sqrtP,
} from "../../src/umbral/ec";
import { DeserializationError } from "../../src/umbral/errors";
import { cacheCompressed, G, pointFromBytes, pointToBytes, randomScalar, U, type Point } from "../../src/umbral/curve";
import { verifyDigest } from "../../src/umbral/signing";
import { T } from "./oracle";

const Pt = secp256k1.Point;
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
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

  it("ctMul returns affine points (Z = 1) whose encoding is noble's, for random and edge scalars", function () {
    const q = randomPoint();
    for (const k of [...EDGE, randomScalar(), randomScalar()]) {
      const p = ctMul(q, k);
      const expected = q.multiply(k);
      expect(p.Z, `k = ${k}`).to.equal(1n);
      expect(p.equals(expected)).to.equal(true);
      expect(hex(pointToBytes(p, false))).to.equal(hex(expected.toBytes(true)));
    }
  });

  it("ctMulOfSum is k·(Q1 + … + Qm) as noble computes it, the identity when the sum cancels", function () {
    for (let i = 0; i < 10; i++) {
      const ps = [randomPoint(), randomPoint()];
      const k = randomScalar();
      const expected = ps[0].add(ps[1]).multiply(k);
      const p = ctMulOfSum(ps, k);
      expect(p.equals(expected)).to.equal(true);
      expect(p.Z).to.equal(1n);
    }
    const q = randomPoint();
    for (const k of [1n, 2n, N - 1n, LAMBDA]) {
      // Q + Q runs into the complete addition's doubling case; Q + (−Q) and O + O are the identity.
      expect(ctMulOfSum([q, q], k).equals(q.double().multiply(k)), `k = ${k}`).to.equal(true);
      expect(ctMulOfSum([q, q.negate()], k).is0()).to.equal(true);
      expect(ctMulOfSum([Pt.ZERO, q, Pt.ZERO], k).equals(q.multiply(k))).to.equal(true);
    }
    expect(ctMulOfSum([Pt.ZERO], 5n).is0()).to.equal(true);
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
    // The identity among the points contributes nothing; halves that are 0, 1 or even need the correction.
    expect(ctLinComb([Pt.ZERO, q], [7n, 9n]).equals(q.multiply(9n))).to.equal(true);
    for (const k of [LAMBDA, N - LAMBDA, LAMBDA + 1n, 2n * LAMBDA, (LAMBDA + 2n) % N, 64n, 1n << 127n]) {
      expect(ctLinComb([q], [k]).equals(q.multiply(k)), `k = ${k}`).to.equal(true);
    }
  });

  it("ctMulEach gives every point times every scalar, as noble's multiply, the identity included", function () {
    const points = [randomPoint(), Pt.ZERO, randomPoint(), Pt.BASE];
    const scalars = [...EDGE.slice(0, 6), randomScalar(), randomScalar(), N - 1n];
    const out = ctMulEach(points, scalars);
    expect(out).to.have.length(points.length);
    points.forEach((q, i) => {
      expect(out[i]).to.have.length(scalars.length);
      scalars.forEach((k, j) => expect(out[i][j].equals(q.multiply(k)), `point ${i}, k = ${k}`).to.equal(true));
    });
    expect(ctMulEach([], [1n])).to.deep.equal([]);
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

  describe("formulas on edge cases", function () {
    it("the GLV split equals noble's _splitEndoScalar and recombines to k", function () {
      const basis: [[bigint, bigint], [bigint, bigint]] = [
        [0x3086d221a7d46bcde86c90e49284eb15n, -0xe4437ed6010e88286f547fa90abfe4c3n],
        [0x114ca50f7a8e2f3f657c1108d9d44cfd8n, 0x3086d221a7d46bcde86c90e49284eb15n],
      ];
      for (const k of [0n, ...EDGE, ...Array.from({ length: 50 }, randomScalar)]) {
        const ours = F.split(k);
        expect(ours).to.deep.equal(_splitEndoScalar(k, basis, N));
        const k1 = ours.k1neg ? N - ours.k1 : ours.k1;
        const k2 = ours.k2neg ? N - ours.k2 : ours.k2;
        expect((k1 + k2 * LAMBDA) % N, `k = ${k}`).to.equal(k);
      }
    });

    it("padd, pdbl and madd equal noble's add/double, including O + P, P + P and P + (−P)", function () {
      for (let i = 0; i < 10; i++) {
        const p = randomPoint();
        const q = i === 0 ? Pt.BASE : randomPoint();
        expect(F.padd(p, q).equals(p.add(q))).to.equal(true);
        expect(F.madd(p, q).equals(p.add(q))).to.equal(true);
        expect(F.pdbl(p).equals(p.double())).to.equal(true);
        // P + P through the addition formulas (complete: no special case for doubling).
        expect(F.padd(p, p).equals(p.double())).to.equal(true);
        expect(F.madd(p, p).equals(p.double())).to.equal(true);
        // P + (−P) = O, O + P = P, P + O = P, 2·O = O.
        expect(F.padd(p, p.negate()).is0()).to.equal(true);
        expect(F.madd(p, p.negate()).is0()).to.equal(true);
        expect(F.padd(Pt.ZERO, p).equals(p)).to.equal(true);
        expect(F.padd(p, Pt.ZERO).equals(p)).to.equal(true);
        expect(F.madd(Pt.ZERO, p).equals(p)).to.equal(true);
        expect(F.pdbl(Pt.ZERO).is0()).to.equal(true);
      }
    });
  });

  describe("fixed-base tables (G, U) for public scalars", function () {
    // Scalars whose signed 8-bit digits hit the table's edges: digit 128 (no carry), 129 (carry), 255, runs
    // of carries (0xff…), the top window's carry (n − 1), and single bits.
    const FIXED_EDGE = [
      1n,
      127n,
      128n,
      129n,
      255n,
      256n,
      0x8080n,
      0x8181n,
      (1n << 255n) + 1n,
      (1n << 248n) * 0x80n,
      (1n << 256n) - 1n - (1n << 255n),
      N - 1n,
      N - 128n,
      N - 129n,
      N >> 1n,
      0x8080808080808080808080808080808080808080808080808080808080808080n % N,
      0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffn % N,
    ];

    it("linCombPublic on G and U equals noble's multiply for edge and random scalars", function () {
      for (const base of [G, U]) {
        for (const k of [...FIXED_EDGE, ...Array.from({ length: 30 }, randomScalar)]) {
          expect(linCombPublic([base], [k]).equals(base.multiply(k)), `k = 0x${k.toString(16)}`).to.equal(true);
        }
        expect(linCombPublic([base], [0n]).is0()).to.equal(true);
        expect(linCombPublic([base, base], [5n, N - 5n]).is0()).to.equal(true);
      }
    });

    it("oddDigits8 gives 33 odd digits in [−255, 255] that sum back to the scalar", function () {
      for (const k of [...FIXED_EDGE, ...Array.from({ length: 30 }, randomScalar)]) {
        const odd = k & 1n ? k : N - k;
        const d = oddDigits8(odd);
        expect(d.length).to.equal(33);
        let sum = 0n;
        d.forEach((di, i) => {
          expect(Math.abs(di) % 2, `digit ${i} of ${odd}`).to.equal(1);
          expect(Math.abs(di)).to.be.at.most(255);
          sum += BigInt(di) << BigInt(8 * i);
        });
        expect(sum).to.equal(odd);
      }
    });

    it("fixedMulSecret (constant time) equals noble's multiply on G and U, odd and even scalars", function () {
      for (const base of [G, U]) {
        for (const k of [...FIXED_EDGE, 2n, N - 2n, ...Array.from({ length: 30 }, randomScalar)]) {
          expect((fixedMulSecret(base, k) as Point).equals(base.multiply(k)), `k = 0x${k.toString(16)}`).to.equal(true);
        }
      }
      expect(fixedMulSecret(randomPoint(), 5n)).to.equal(null);
    });

    it("mixes fixed bases with variable ones: a·G + b·U + c·Q equals noble", function () {
      for (let i = 0; i < 10; i++) {
        const q = randomPoint();
        const [a, b, c] = [randomScalar(), randomScalar(), randomScalar()];
        const expected = G.multiply(a).add(U.multiply(b)).add(q.multiply(c));
        expect(linCombPublic([G, U, q], [a, b, c]).equals(expected)).to.equal(true);
      }
    });
  });

  describe("public multi-scalar products: short, negative and ±1 scalars", function () {
    const short = () => randomScalar() >> 128n; // below 2^128: no GLV split

    it("equals noble for scalars below 2^128, n − k for short k, and ±1", function () {
      for (let i = 0; i < 10; i++) {
        const ps = [randomPoint(), randomPoint(), randomPoint(), randomPoint()];
        const ks = [short(), N - short(), 1n, N - 1n];
        const expected = ps.reduce((acc, p, j) => acc.add(p.multiply(ks[j])), Pt.ZERO);
        expect(linCombPublic(ps, ks).equals(expected)).to.equal(true);
      }
      const q = randomPoint();
      for (const k of [2n, 3n, (1n << 128n) - 1n, 1n << 128n, N - 2n, N - (1n << 128n) + 1n, N - (1n << 128n)]) {
        expect(linCombPublic([q], [k]).equals(q.multiply(k)), `k = ${k}`).to.equal(true);
      }
    });

    it("builds the tables of a new point once when it appears twice in one product", function () {
      const q = randomPoint();
      const [a, b] = [randomScalar(), randomScalar()];
      expect(linCombPublic([q, q], [a, b]).equals(q.multiply((a + b) % N))).to.equal(true);
    });

    it("reuses a point's cached tables correctly: short scalar first, then full and negative ones", function () {
      const q = randomPoint();
      const ks = [short(), randomScalar(), N - short(), randomScalar(), 5n, N - randomScalar()];
      for (const k of ks) expect(linCombPublic([q], [k]).equals(q.multiply(k)), `k = ${k}`).to.equal(true);
      const other = randomPoint();
      expect(
        linCombPublic([q, other, q], [ks[1], ks[3], ks[5]]).equals(
          q.multiply((ks[1] + ks[5]) % N).add(other.multiply(ks[3])),
        ),
      ).to.equal(true);
    });

    it("handles P + P, P + (−P) and the identity among the ±1 terms", function () {
      const q = randomPoint();
      expect(linCombPublic([q, q], [1n, 1n]).equals(q.double())).to.equal(true);
      expect(linCombPublic([q, q], [1n, N - 1n]).is0()).to.equal(true);
      expect(linCombPublic([q, q.negate()], [1n, 1n]).is0()).to.equal(true);
      expect(linCombPublic([Pt.ZERO, q], [1n, 1n]).equals(q)).to.equal(true);
      expect(linCombPublic([q, q], [3n, N - 1n]).equals(q.double())).to.equal(true);
    });

    it("isZeroSumPublic is true exactly when the sum is the identity", function () {
      for (let i = 0; i < 10; i++) {
        const e = randomPoint();
        const [s, h] = [randomScalar(), randomScalar()];
        // s·G = V + h·E for V = s·G − h·E
        const v = G.multiply(s).subtract(e.multiply(h));
        expect(isZeroSumPublic([G, e, v], [s, N - h, N - 1n])).to.equal(true);
        expect(isZeroSumPublic([G, e, v], [s + 1n, N - h, N - 1n])).to.equal(false);
        expect(isZeroSumPublic([G, e, v.add(Pt.BASE)], [s, N - h, N - 1n])).to.equal(false);
      }
      expect(isZeroSumPublic([], [])).to.equal(true);
      expect(isZeroSumPublic([Pt.BASE], [1n])).to.equal(false);
    });

    it("linCombXModNPublic equals the affine x mod n test, and is false for the identity", function () {
      for (let i = 0; i < 10; i++) {
        const q = randomPoint();
        const [a, b] = [randomScalar(), randomScalar()];
        const r = G.multiply(a).add(q.multiply(b)).toAffine().x % N;
        expect(linCombXModNPublic([G, q], [a, b], r)).to.equal(true);
        expect(linCombXModNPublic([G, q], [a, b], r === 1n ? 2n : r - 1n)).to.equal(false);
      }
      const q = randomPoint();
      expect(linCombXModNPublic([q, q], [1n, N - 1n], 1n)).to.equal(false);
      expect(linCombXModNPublic([q], [1n], 0n)).to.equal(false);
      expect(linCombXModNPublic([q], [1n], N)).to.equal(false);
    });
  });

  describe("invertPublic (Lehmer)", function () {
    it("equals noble's inverse modulo n and p on edge and random values", function () {
      const P = Pt.Fp.ORDER;
      for (const m of [N, P]) {
        const edge = [1n, 2n, 3n, m - 1n, m - 2n, (m + 1n) / 2n, 1n << 52n, (1n << 53n) + 1n, 1n << 200n, m + 5n];
        for (const a of [...edge, ...Array.from({ length: 200 }, randomScalar)]) {
          const inv = invertPublic(a, m);
          expect(inv, `a = ${a}`).to.equal(m === N ? Pt.Fn.inv(a % m) : Pt.Fp.inv(a % m));
          expect((inv * a) % m).to.equal(1n);
        }
      }
      expect(() => invertPublic(0n, N)).to.throw(RangeError);
      expect(() => invertPublic(N, N)).to.throw(RangeError);
    });
  });

  describe("square roots and point decompression", function () {
    const Fp = Pt.Fp;

    it("sqrtP squares back and agrees with noble on squares, non-squares, 0 and 1", function () {
      for (let i = 0; i < 30; i++) {
        const a = Fp.create(randomScalar());
        const sq = Fp.sqr(a);
        const root = sqrtP(sq) as bigint;
        expect(Fp.sqr(root)).to.equal(sq);
        expect(root === a || root === Fp.neg(a)).to.equal(true);
        // −a² is a non-square (p ≡ 3 mod 4) unless a = 0.
        expect(sqrtP(Fp.neg(sq))).to.equal(null);
      }
      expect(sqrtP(0n)).to.equal(0n);
      expect(sqrtP(1n)).to.equal(1n);
    });

    it("cacheCompressed encodes a batch of points (with repeats and the identity) as noble does", function () {
      const ps = Array.from({ length: 6 }, randomPoint);
      const batch = [...ps, ps[0], Pt.ZERO, ps[3].negate()];
      cacheCompressed(batch);
      for (const p of [...ps, ps[3].negate()]) expect(hex(pointToBytes(p))).to.equal(hex(p.toBytes(true)));
      expect(() => pointToBytes(Pt.ZERO)).to.throw(/infinity/);
    });

    it("liftX and pointFromBytes equal noble's decoding for both parities, and reject what noble rejects", function () {
      for (let i = 0; i < 30; i++) {
        const p = randomPoint();
        const bytes = p.toBytes(true);
        const { x } = p.toAffine();
        expect((liftX(x, bytes[0] === 3) as Point).equals(p)).to.equal(true);
        expect((liftX(x, bytes[0] === 2) as Point).equals(p.negate())).to.equal(true);
        expect(pointFromBytes(bytes).equals(Pt.fromBytes(bytes))).to.equal(true);
        // A random x is on the curve about half the time; both decoders must agree.
        const junk = Uint8Array.of(2 + (i & 1), ...secp256k1.utils.randomSecretKey());
        let nobleOk = true;
        try {
          Pt.fromBytes(junk);
        } catch {
          nobleOk = false;
        }
        if (nobleOk) expect(pointFromBytes(junk).equals(Pt.fromBytes(junk))).to.equal(true);
        else expect(() => pointFromBytes(junk)).to.throw(DeserializationError, /not a point/);
      }
      expect(liftX(Fp.ORDER, false)).to.equal(null);
      expect(liftX((1n << 256n) - 1n, true)).to.equal(null);
      // x ≥ p is not a field element, even where x − p would be on the curve.
      const overP = Uint8Array.of(2, ...Buffer.from((Fp.ORDER + 1n).toString(16), "hex"));
      expect(() => Pt.fromBytes(overP)).to.throw();
      expect(() => pointFromBytes(overP)).to.throw(DeserializationError, /not a point/);
    });
  });
});
