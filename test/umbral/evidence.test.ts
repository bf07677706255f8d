// ReencryptionEvidence: equal to umbral-pre's for honest cfrags, consistent with the simple byte forms
// the Adjudicator parses, and still constructible (with the failure visible) for cheating nodes.
import { expect } from "chai";
import { ethers } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";
import { be32, hex, T, tsPolicy, W, wasmPk } from "./oracle";

const POINTS = ["e", "ez", "e1", "e1h", "e2", "v", "vz", "v1", "v1h", "v2", "uz", "u1", "u1h", "u2"] as const;

/** Recovers the signer's uncompressed key with ethers, independently of noble. */
function ecrecover(ev: T.ReencryptionEvidence): string {
  const sig = ethers.Signature.from({
    r: "0x" + hex(ev.kfragSignature.subarray(0, 32)),
    s: "0x" + hex(ev.kfragSignature.subarray(32)),
    v: 27 + (ev.kfragSignatureV as number),
  });
  return ethers.SigningKey.recoverPublicKey(ev.kfragValidityMessageHash, sig);
}

describe("umbral ReencryptionEvidence", function () {
  describe("for honest cfrags", function () {
    for (let n = 0; n < 8; n++) {
      it(`case ${n}: equals umbral-pre's evidence point by point, hash and recovery bit`, function () {
        const p = tsPolicy(2, 3);
        const cfrag = p.cfrags[n % 3];
        const ev = new T.ReencryptionEvidence(p.capsule, cfrag, p.verifyingPk, p.delegatingPk, p.receivingPk);
        const wev = new W.ReencryptionEvidence(
          W.Capsule.fromBytes(p.capsule.toBytes()),
          W.CapsuleFrag.fromBytes(cfrag.toBytes()).skipVerification(),
          wasmPk(p.verifyingPk),
          wasmPk(p.delegatingPk),
          wasmPk(p.receivingPk),
        );
        for (const name of POINTS) {
          const [x, y] = wev[name].coordinates() as [Uint8Array, Uint8Array];
          expect(be32(ev[name].x), `${name}.x`).to.equal(hex(x));
          expect(be32(ev[name].y), `${name}.y`).to.equal(hex(y));
          expect(ev[name].compressed[0], `${name} prefix`).to.equal(ev[name].y % 2n === 0n ? 2 : 3);
          expect(hex(ev[name].compressed.subarray(1)), `${name} compressed`).to.equal(hex(x));
        }
        expect(hex(ev.kfragValidityMessageHash)).to.equal(hex(wev.kfragValidityMessageHash));
        expect(ev.kfragSignatureV).to.equal(wev.kfragSignatureV ? 1 : 0);
        expect(ev.proofHolds()).to.equal(true);
      });
    }

    it("matches the simple forms at the offsets the Adjudicator reads", function () {
      const p = tsPolicy(2, 3);
      const ev = T.ReencryptionEvidence.fromCapsuleFrag(
        p.capsule,
        p.cfrags[0],
        p.verifyingPk,
        p.delegatingPk,
        p.receivingPk,
      );
      const cap = p.capsule.toBytesSimple();
      const cf = p.cfrags[0].toBytesSimple();
      expect(hex(ev.capsuleSimple)).to.equal(hex(cap));
      expect(hex(ev.cfragSimple)).to.equal(hex(cf));
      const at = (b: Uint8Array, o: number, l = 33) => hex(b.subarray(o, o + l));
      expect(hex(ev.e.compressed)).to.equal(at(cap, 0));
      expect(hex(ev.v.compressed)).to.equal(at(cap, 33));
      expect(hex(ev.e1.compressed)).to.equal(at(cf, 0));
      expect(hex(ev.v1.compressed)).to.equal(at(cf, 33));
      expect(hex(ev.e2.compressed)).to.equal(at(cf, 131));
      expect(hex(ev.v2.compressed)).to.equal(at(cf, 164));
      expect(hex(ev.u1.compressed)).to.equal(at(cf, 197));
      expect(hex(ev.u2.compressed)).to.equal(at(cf, 230));
      expect(be32(ev.z)).to.equal(at(cf, 263, 32));
      expect(hex(ev.kfragSignature)).to.equal(at(cf, 295, 64));
    });

    it("builds the validity message as id ‖ U1 ‖ P ‖ 01 ‖ pk_A ‖ 01 ‖ pk_B and recovers the verifying key", function () {
      const p = tsPolicy(2, 3);
      const ev = new T.ReencryptionEvidence(p.capsule, p.cfrags[2], p.verifyingPk, p.delegatingPk, p.receivingPk);
      const cf = p.cfrags[2].toBytesSimple();
      const expected =
        hex(cf.subarray(66, 98)) +
        hex(cf.subarray(197, 230)) +
        hex(cf.subarray(98, 131)) +
        "01" +
        hex(p.delegatingPk.toCompressedBytes()) +
        "01" +
        hex(p.receivingPk.toCompressedBytes());
      expect(hex(ev.kfragValidityMessage)).to.equal(expected);
      expect(ev.kfragValidityMessage.length).to.equal(166);
      expect(hex(ev.kfragValidityMessageHash)).to.equal(ethers.sha256(ev.kfragValidityMessage).slice(2));
      expect(ecrecover(ev)).to.equal(ethers.SigningKey.computePublicKey(p.verifyingPk.toCompressedBytes(), false));
    });

    it("exposes h = hash-to-scalar(CFRAG_VERIFICATION; E, e1, e2, V, v1, v2, U, U1, u2), recomputed independently", function () {
      const p = tsPolicy(1, 1);
      const ev = new T.ReencryptionEvidence(p.capsule, p.cfrags[0], p.verifyingPk, p.delegatingPk, p.receivingPk);
      const dst = Buffer.from("CFRAG_VERIFICATION");
      const parts = [ev.e, ev.e1, ev.e2, ev.v, ev.v1, ev.v2, T.UMBRAL_U, ev.u1, ev.u2].map((q) => hex(q.compressed));
      const digest = BigInt(
        ethers.sha256("0x" + be32(BigInt(dst.length)).slice(56) + dst.toString("hex") + parts.join("")),
      );
      expect(ev.h).to.equal((digest % (T.CURVE_ORDER - 1n)) + 1n);
      const at = (q: T.EvidencePoint) => secp256k1.Point.fromAffine({ x: q.x, y: q.y });
      expect(at(ev.e1).multiply(ev.h).equals(at(ev.e1h))).to.equal(true);
      expect(at(T.UMBRAL_U).multiply(ev.z).equals(at(ev.uz))).to.equal(true);
    });
  });

  describe("for cheating nodes", function () {
    it("a node that re-encrypts with a wrong rk′ under the signed U1 yields a failing proof and a recovering signature", function () {
      const p = tsPolicy(2, 3);
      const kf = p.kfrags[0].unverify();
      const forged = new T.KeyFrag(
        kf.id,
        (kf.rk + 1n) % T.CURVE_ORDER,
        kf.precursor,
        kf.commitment,
        kf.signatureForProxy,
        kf.signatureForReceiver,
        true,
        true,
      );
      const cfrag = T.reencrypt(p.capsule, forged.skipVerification()).unverify();
      const ev = new T.ReencryptionEvidence(p.capsule, cfrag, p.verifyingPk, p.delegatingPk, p.receivingPk);
      expect(ev.proofHolds()).to.equal(false);
      expect(ev.kfragSignatureV).to.not.equal(null);
      expect(ecrecover(ev)).to.equal(ethers.SigningKey.computePublicKey(p.verifyingPk.toCompressedBytes(), false));
      expect(() => cfrag.verify(p.capsule, p.verifyingPk, p.delegatingPk, p.receivingPk)).to.throw(
        T.ReencryptionProofError,
      );
    });

    it("a node with a self-made commitment U1′ = rk′·U gets kfragSignatureV = null and a holding proof", function () {
      const p = tsPolicy(2, 3);
      const kf = p.kfrags[0].unverify();
      // rk′ and U1′ = rk′·U from a throwaway policy's kfrag: a commitment the delegator never signed.
      const stranger = tsPolicy(1, 1).kfrags[0].unverify();
      const forged = new T.KeyFrag(
        kf.id,
        stranger.rk,
        kf.precursor,
        stranger.commitment,
        kf.signatureForProxy,
        kf.signatureForReceiver,
        true,
        true,
      );
      const cfrag = T.reencrypt(p.capsule, forged.skipVerification()).unverify();
      const ev = new T.ReencryptionEvidence(p.capsule, cfrag, p.verifyingPk, p.delegatingPk, p.receivingPk);
      expect(ev.proofHolds()).to.equal(true);
      expect(ev.kfragSignatureV).to.equal(null);
      expect(() => cfrag.verify(p.capsule, p.verifyingPk, p.delegatingPk, p.receivingPk)).to.throw(
        T.KeyFragSignatureError,
      );
    });

    it("a cfrag with a tampered e1 gives evidence whose proof fails and whose signature still recovers", function () {
      const p = tsPolicy(2, 3);
      const bytes = p.cfrags[1].toBytesSimple();
      bytes.set(T.SecretKey.random().publicKey().toCompressedBytes(), 0);
      const cfrag = T.CapsuleFrag.fromBytesSimple(bytes);
      const ev = new T.ReencryptionEvidence(p.capsule, cfrag, p.verifyingPk, p.delegatingPk, p.receivingPk);
      expect(ev.proofHolds()).to.equal(false);
      expect(ecrecover(ev)).to.equal(ethers.SigningKey.computePublicKey(p.verifyingPk.toCompressedBytes(), false));
    });
  });
});
