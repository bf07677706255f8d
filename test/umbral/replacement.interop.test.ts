// Seeded kfrag sets and replacement shares (heal a policy whose node left): the same seed gives the same set,
// `issueKFrags` adds shares of the same polynomial with fresh ids, and umbral-pre 0.10 (rust-umbral's WASM
// build) verifies a replacement kfrag, re-encrypts with it, and decrypts with a mix of old and new cfrags.
import { expect } from "chai";
import { randomBytes } from "@noble/hashes/utils";
import { hex, pick, randInt, randomPlaintext, T, tsParties, W, wasmPk, wasmSk } from "./oracle";

describe("seeded kfrag sets and replacement shares", function () {
  it("the same seed and keys give the same kfrags; another seed other ones", function () {
    const p = tsParties();
    const seed = randomBytes(32);
    // The share itself (id, rk, precursor, commitment); the signer's signatures are randomized.
    const share = (k: T.VerifiedKeyFrag) => {
      const f = k.unverify();
      return [hex(f.id), f.rk.toString(16), f.precursor.toHex(true), f.commitment.toHex(true)].join(":");
    };
    const make = (s: Uint8Array) =>
      T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, 2, 3, true, true, { coefficientsSeed: s }).map(share);
    expect(make(seed)).to.deep.equal(make(seed));
    expect(make(randomBytes(32))).to.not.deep.equal(make(seed));
    const reissued = T.issueKFrags(p.delegatingSk, p.receivingPk, p.signer, 2, seed, [0, 1, 2], true, true);
    expect(reissued.map(share)).to.deep.equal(make(seed));
  });

  it("refuses a short seed and a bad share index", function () {
    const p = tsParties();
    expect(() =>
      T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, 2, 3, true, true, {
        coefficientsSeed: new Uint8Array(16),
      }),
    ).to.throw(RangeError, /at least 32 bytes/);
    expect(() => T.issueKFrags(p.delegatingSk, p.receivingPk, p.signer, 1, randomBytes(32), [-1], true, true)).to.throw(
      RangeError,
      /share index/,
    );
  });

  for (let n = 0; n < 8; n++) {
    const shares = randInt(2, 6);
    const threshold = randInt(2, shares);
    it(`case ${n}: ${threshold}-of-${shares}, a replacement share: umbral-pre verifies it and decrypts with old + new cfrags`, function () {
      const p = tsParties();
      const seed = randomBytes(32);
      const plaintext = randomPlaintext();
      const [capsule, ciphertext] = T.encrypt(p.delegatingPk, plaintext);
      const kfrags = T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, threshold, shares, true, true, {
        coefficientsSeed: seed,
      });
      // Node `left` leaves; the replacement is share index `shares` (a fresh id) of the same polynomial.
      const left = randInt(0, shares - 1);
      const [replacement] = T.issueKFrags(
        p.delegatingSk,
        p.receivingPk,
        p.signer,
        threshold,
        seed,
        [shares],
        true,
        true,
      );
      expect(kfrags.map((k) => hex(k.unverify().id))).to.not.include(hex(replacement.unverify().id));
      expect(replacement.unverify().precursor.equals(kfrags[0].unverify().precursor)).to.equal(true);
      const current = kfrags.map((k, i) => (i === left ? replacement : k));

      const [vk, dk, rk] = [wasmPk(p.verifyingPk), wasmPk(p.delegatingPk), wasmPk(p.receivingPk)];
      const wCapsule = W.Capsule.fromBytes(capsule.toBytes());
      const wCFrags = current.map((k) => W.reencrypt(wCapsule, W.KeyFrag.fromBytes(k.toBytes()).verify(vk, dk, rk)));

      // A threshold-sized subset that always includes the replacement's cfrag, with old ones: umbral-pre decrypts.
      const others = pick(shares, shares)
        .filter((i) => i !== left)
        .slice(0, threshold - 1);
      const subset = [left, ...others];
      const wSubset = subset.map((i) =>
        W.CapsuleFrag.fromBytes(wCFrags[i].toBytes()).verify(W.Capsule.fromBytes(capsule.toBytes()), vk, dk, rk),
      );
      expect(W.decryptReencrypted(wasmSk(p.receivingSk), dk, wCapsule, wSubset, ciphertext)).to.deep.equal(plaintext);

      // TypeScript decrypts the same mix from its own cfrags.
      const tsSubset = subset.map((i) => T.reencrypt(capsule, current[i]));
      expect(T.decryptReencrypted(p.receivingSk, p.delegatingPk, capsule, tsSubset, ciphertext)).to.deep.equal(
        plaintext,
      );

      // The departed node's old share still combines with the others (the collusion note in docs/policy.md).
      const withOld = [T.reencrypt(capsule, kfrags[left]), ...others.map((i) => T.reencrypt(capsule, current[i]))];
      expect(T.decryptReencrypted(p.receivingSk, p.delegatingPk, capsule, withOld, ciphertext)).to.deep.equal(
        plaintext,
      );
    });
  }
});
