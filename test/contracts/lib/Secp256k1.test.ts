// Secp256k1 and UmbralBytes libraries (through Secp256k1Harness), checked against @noble/curves.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { secp256k1 } from "@noble/curves/secp256k1";

const Point = secp256k1.Point;
type Pt = InstanceType<typeof Point>;
const P = Point.Fp.ORDER;
const N = Point.Fn.ORDER;

function rnd(): bigint {
  return Point.Fn.fromBytes(secp256k1.utils.randomSecretKey());
}

function aff(p: Pt): { x: bigint; y: bigint; odd: boolean } {
  const a = p.toAffine();
  return { x: a.x, y: a.y, odd: (a.y & 1n) === 1n };
}

/** A curve point whose x lies in [N, P): the case ecrecover cannot take as its r. */
function pointWithXAboveOrder(): Pt {
  for (let x = N; ; x++) {
    try {
      return Point.fromHex("02" + x.toString(16).padStart(64, "0"));
    } catch {
      continue;
    }
  }
}

/** An x with no curve point (x³ + 7 not a square). */
function xOffCurve(): bigint {
  for (let x = 1n; ; x++) {
    try {
      Point.fromHex("02" + x.toString(16).padStart(64, "0"));
    } catch {
      return x;
    }
  }
}

async function harnessFixture() {
  return { h: await ethers.deployContract("Secp256k1Harness") };
}

describe("Secp256k1", function () {
  describe("isOnCurve / requireY / liftX", function () {
    it("accepts the generator and rejects a moved y or a non-canonical x", async function () {
      const { h } = await loadFixture(harnessFixture);
      const g = aff(Point.BASE);
      expect(await h.isOnCurve(g.x, g.y)).to.equal(true);
      expect(await h.isOnCurve(g.x, g.y + 1n)).to.equal(false);
      expect(await h.isOnCurve(P + 1n, g.y)).to.equal(false); // x ≥ P, though ≡ 1 mod P
    });

    it("proves the right y for either parity and names the false hint", async function () {
      const { h } = await loadFixture(harnessFixture);
      for (let i = 0; i < 4; i++) {
        const q = aff(Point.BASE.multiply(rnd()));
        await h.requireY(q.x, q.odd, q.y);
        expect(await h.liftX(q.x, q.odd)).to.equal(q.y);
        await expect(h.requireY(q.x, q.odd, P - q.y))
          .to.be.revertedWithCustomError(h, "WrongYHint")
          .withArgs(q.x, q.odd, P - q.y);
        await expect(h.requireY(q.x, q.odd, P + 1n))
          .to.be.revertedWithCustomError(h, "WrongYHint")
          .withArgs(q.x, q.odd, P + 1n);
      }
    });

    it("says PointNotOnCurve for an x without a point, including 0", async function () {
      const { h } = await loadFixture(harnessFixture);
      const x = xOffCurve();
      await expect(h.requireY(x, false, 1n))
        .to.be.revertedWithCustomError(h, "PointNotOnCurve")
        .withArgs(x);
      await expect(h.liftX(0n, true)).to.be.revertedWithCustomError(h, "PointNotOnCurve").withArgs(0n);
    });
  });

  describe("products (the ecrecover trick)", function () {
    it("proves k·P for random points and scalars, k = 1 and k = N − 1 included", async function () {
      const { h } = await loadFixture(harnessFixture);
      for (const k of [1n, N - 1n, rnd(), rnd()]) {
        const p = aff(Point.BASE.multiply(rnd()));
        const q = aff(Point.fromAffine({ x: p.x, y: p.y }).multiply(k));
        expect(await h.isProduct(p.x, p.odd, k, q.x, q.y)).to.equal(true);
        await h.requireProduct(p.x, p.odd, k, q.x, q.y);
      }
    });

    it("rejects a lying product with its values, and an off-curve base with PointNotOnCurve", async function () {
      const { h } = await loadFixture(harnessFixture);
      const k = rnd();
      const p = aff(Point.BASE.multiply(rnd()));
      const wrong = aff(Point.fromAffine({ x: p.x, y: p.y }).multiply(k + 1n));
      expect(await h.isProduct(p.x, p.odd, k, wrong.x, wrong.y)).to.equal(false);
      await expect(h.requireProduct(p.x, p.odd, k, wrong.x, wrong.y))
        .to.be.revertedWithCustomError(h, "WrongProductHint")
        .withArgs(p.x, k, wrong.x, wrong.y);
      // The wrong parity is another point, −P: its product is −(k·P).
      const q = aff(Point.fromAffine({ x: p.x, y: p.y }).multiply(k));
      expect(await h.isProduct(p.x, !p.odd, k, q.x, q.y)).to.equal(false);
      const x = xOffCurve();
      await expect(h.isProduct(x, false, k, q.x, q.y))
        .to.be.revertedWithCustomError(h, "PointNotOnCurve")
        .withArgs(x);
    });

    it("checks a base with x ≥ N the other way round (p = k⁻¹·q)", async function () {
      const { h } = await loadFixture(harnessFixture);
      const base = pointWithXAboveOrder();
      const p = aff(base);
      expect(p.x >= N).to.equal(true);
      const k = rnd();
      const q = aff(base.multiply(k));
      expect(await h.isProduct(p.x, p.odd, k, q.x, q.y)).to.equal(true);
      const wrong = aff(base.multiply(k + 1n));
      expect(await h.isProduct(p.x, p.odd, k, wrong.x, wrong.y)).to.equal(false);
      expect(await h.isProduct(p.x, p.odd, k, q.x, q.y + 1n)).to.equal(false); // off the curve
      // A product claimed at x ≥ N too cannot be checked by ecrecover either way: reverts, never judged.
      const neg = aff(base.negate());
      await expect(h.isProduct(p.x, p.odd, k, neg.x, neg.y))
        .to.be.revertedWithCustomError(h, "ProductUncheckable")
        .withArgs(p.x, neg.x);
    });

    it("proves a product whose result has x ≥ N from a normal base", async function () {
      const { h } = await loadFixture(harnessFixture);
      const q = pointWithXAboveOrder();
      const k = rnd();
      const base = q.multiply(Point.Fn.inv(k));
      const p = aff(base);
      const qa = aff(q);
      expect(await h.isProduct(p.x, p.odd, k, qa.x, qa.y)).to.equal(true);
    });

    it("pointAddress is the Ethereum address of the public key", async function () {
      const { h } = await loadFixture(harnessFixture);
      const sk = secp256k1.utils.randomSecretKey();
      const pub = Point.fromBytes(secp256k1.getPublicKey(sk, false));
      const a = aff(pub);
      expect(await h.pointAddress(a.x, a.y)).to.equal(ethers.computeAddress(ethers.hexlify(pub.toBytes(false))));
    });
  });

  describe("additions with a supplied slope", function () {
    function slope(a: Pt, b: Pt): bigint {
      const A = a.toAffine();
      const B = b.toAffine();
      const Fp = Point.Fp;
      if (A.x === B.x) return Fp.mul(Fp.mul(3n, Fp.sqr(A.x)), Fp.inv(Fp.mul(2n, A.y)));
      return Fp.mul(Fp.sub(B.y, A.y), Fp.inv(Fp.sub(B.x, A.x)));
    }

    it("adds distinct points and doubles equal ones", async function () {
      const { h } = await loadFixture(harnessFixture);
      const a = Point.BASE.multiply(rnd());
      const b = Point.BASE.multiply(rnd());
      for (const [x, y] of [
        [a, b],
        [a, a],
      ]) {
        const s = aff(x.add(y));
        const [A, B] = [aff(x), aff(y)];
        expect(await h.add(A.x, A.y, B.x, B.y, slope(x, y))).to.deep.equal([true, s.x, s.y]);
      }
    });

    it("gives the point at infinity for a + (−a) without needing a slope", async function () {
      const { h } = await loadFixture(harnessFixture);
      const a = aff(Point.BASE.multiply(rnd()));
      expect(await h.add(a.x, a.y, a.x, P - a.y, 12345n)).to.deep.equal([false, 0n, 0n]);
    });

    it("addCompressed derives a's y from the slope: same sums, and a's y is never supplied", async function () {
      const { h } = await loadFixture(harnessFixture);
      const a = Point.BASE.multiply(rnd());
      const b = Point.BASE.multiply(rnd());
      for (const [x, y] of [
        [a, b],
        [a, a],
      ]) {
        const s = aff(x.add(y));
        const [A, B] = [aff(x), aff(y)];
        expect(await h.addCompressed(A.x, A.odd, B.x, B.y, slope(x, y))).to.deep.equal([true, s.x, s.y]);
      }
      const [A, B] = [aff(a), aff(b)];
      // a = −b: infinity, told apart from a = b by the parity alone.
      expect(await h.addCompressed(A.x, !A.odd, A.x, A.y, 7n)).to.deep.equal([false, 0n, 0n]);
      // A wrong slope derives a y that is not a's: WrongSlopeHint; an a off the curve: PointNotOnCurve.
      const bad = slope(a, b) + 1n;
      await expect(h.addCompressed(A.x, A.odd, B.x, B.y, bad))
        .to.be.revertedWithCustomError(h, "WrongSlopeHint")
        .withArgs(bad);
      const x = xOffCurve();
      await expect(h.addCompressed(x, false, B.x, B.y, bad))
        .to.be.revertedWithCustomError(h, "PointNotOnCurve")
        .withArgs(x);
      // The other parity of a is −a: the true slope for a derives a's y, which has the wrong parity.
      await expect(h.addCompressed(A.x, !A.odd, B.x, B.y, slope(a, b))).to.be.revertedWithCustomError(
        h,
        "WrongSlopeHint",
      );
    });

    it("rejects a slope that lies", async function () {
      const { h } = await loadFixture(harnessFixture);
      const a = Point.BASE.multiply(rnd());
      const b = Point.BASE.multiply(rnd());
      const [A, B] = [aff(a), aff(b)];
      const bad = slope(a, b) + 1n;
      await expect(h.add(A.x, A.y, B.x, B.y, bad))
        .to.be.revertedWithCustomError(h, "WrongSlopeHint")
        .withArgs(bad);
      await expect(h.add(A.x, A.y, A.x, A.y, bad)).to.be.revertedWithCustomError(h, "WrongSlopeHint");
    });
  });
});

describe("UmbralBytes", function () {
  function point(prefix: number, x: bigint): Uint8Array {
    return ethers.getBytes(ethers.concat([ethers.toBeHex(prefix, 1), ethers.toBeHex(x, 32)]));
  }

  it("reads a canonical compressed point's x and parity", async function () {
    const { h } = await loadFixture(harnessFixture);
    const g = aff(Point.BASE);
    expect(await h.point(Point.BASE.toBytes(true), 0)).to.deep.equal([g.x, g.odd]);
    // Canonical form only: x = P − 1 is well-formed (curve membership is checked where the point is used).
    expect(await h.point(point(3, P - 1n), 0)).to.deep.equal([P - 1n, true]);
  });

  it("rejects other prefixes and x ≥ P with the offset and values", async function () {
    const { h } = await loadFixture(harnessFixture);
    for (const prefix of [0, 1, 4, 5, 6, 7, 0xff]) {
      await expect(h.point(point(prefix, 5n), 0))
        .to.be.revertedWithCustomError(h, "NonCanonicalPoint")
        .withArgs(0, 0, prefix, 5n);
    }
    await expect(h.point(point(2, P), 0))
      .to.be.revertedWithCustomError(h, "NonCanonicalPoint")
      .withArgs(0, 0, 2, P);
  });

  it("accepts scalars below N and rejects N", async function () {
    const { h } = await loadFixture(harnessFixture);
    expect(await h.scalar(ethers.toBeHex(N - 1n, 32), 0)).to.equal(N - 1n);
    await expect(h.scalar(ethers.toBeHex(N, 32), 0))
      .to.be.revertedWithCustomError(h, "NonCanonicalScalar")
      .withArgs(0, 0, N);
  });
});
