// The scheme's failure modes: every tampered object, wrong key or bad combination of fragments fails with
// a named error, never with a wrong plaintext; thresholds umbral-pre accepts silently are rejected.
import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hex, T, tsParties, tsPolicy, utf8, W, wasmPk, wasmSk } from "./oracle";

/** A copy of `bytes` with the field at `offset` (length `len`) replaced by `patch`. */
function patched(bytes: Uint8Array, offset: number, patch: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(patch, offset);
  return out;
}

// Offsets in the 359-byte simple cfrag.
const CF = { e1: 0, v1: 33, id: 66, precursor: 98, e2: 131, v2: 164, u1: 197, u2: 230, z: 263, sig: 295 };

describe("umbral pre", function () {
  describe("round trips", function () {
    it("decrypts the original for sizes 0 B to 64 KiB", function () {
      const p = tsParties();
      for (const size of [0, 1, 31, 1024, 65536]) {
        const pt = new Uint8Array(size).map((_, i) => i & 0xff);
        const [capsule, ct] = T.encrypt(p.delegatingPk, pt);
        expect(ct.length).to.equal(size + 24 + 16);
        expect(T.decryptOriginal(p.delegatingSk, capsule, ct)).to.deep.equal(pt);
      }
    });

    it("decrypts re-encrypted with exactly threshold and with all shares, in any order", function () {
      const p = tsPolicy(3, 5);
      const [a, b, c, d, e] = p.cfrags;
      for (const set of [[a, b, c], [e, c, a], [b, d, e, a], p.cfrags]) {
        expect(T.decryptReencrypted(p.receivingSk, p.delegatingPk, p.capsule, set, p.ciphertext)).to.deep.equal(
          p.plaintext,
        );
      }
    });

    it("verifies kfrags whatever subset of keys they sign, and demands the signed ones", function () {
      for (const [dk, rk] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const p = tsParties();
        const [k] = T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, 1, 1, dk, rk).map((v) => v.unverify());
        expect(() => k.verify(p.verifyingPk, p.delegatingPk, p.receivingPk)).not.to.throw();
        expect(() => k.verify(p.verifyingPk, dk ? p.delegatingPk : null, rk ? p.receivingPk : null)).not.to.throw();
        if (dk)
          expect(() => k.verify(p.verifyingPk, null, p.receivingPk)).to.throw(
            T.KeyFragVerificationError,
            /delegating key/,
          );
        if (rk)
          expect(() => k.verify(p.verifyingPk, p.delegatingPk, null)).to.throw(
            T.KeyFragVerificationError,
            /receiving key/,
          );
      }
    });
  });

  describe("thresholds", function () {
    it("rejects threshold 0, threshold > shares, zero shares and non-integers with InvalidThresholdError", function () {
      const p = tsParties();
      for (const [t, n] of [
        [0, 3],
        [4, 3],
        [0, 0],
        [1.5, 3],
        [-1, 3],
      ]) {
        expect(() => T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, t, n, true, true))
          .to.throw(T.InvalidThresholdError, `invalid threshold ${t} for ${n} shares`)
          .with.property("threshold", t);
      }
    });

    it("documents that umbral-pre itself accepts threshold > shares", function () {
      const w = W.SecretKey.random();
      expect(W.generateKFrags(w, W.SecretKey.random().publicKey(), new W.Signer(w), 4, 3, true, true)).to.have.length(
        3,
      );
    });
  });

  describe("tampered objects fail with a named error", function () {
    const p = tsPolicy(2, 3);
    const verifyCFrag = (bytes: Uint8Array, capsule = p.capsule) =>
      T.CapsuleFrag.fromBytesSimple(bytes).verify(capsule, p.verifyingPk, p.delegatingPk, p.receivingPk);
    const good = p.cfrags[0].toBytesSimple();
    const otherPoint = T.SecretKey.random().publicKey().toCompressedBytes();

    it("a kfrag with another rk fails the commitment check", function () {
      const kf = p.kfrags[0].unverify();
      const bad = new T.KeyFrag(
        kf.id,
        kf.rk + 1n,
        kf.precursor,
        kf.commitment,
        kf.signatureForProxy,
        kf.signatureForReceiver,
        true,
        true,
      );
      const bytes = bad.toBytes();
      expect(() => T.KeyFrag.fromBytes(bytes).verify(p.verifyingPk, p.delegatingPk, p.receivingPk))
        .to.throw(T.KeyFragVerificationError)
        .with.property("reason", "IncorrectCommitment");
      expect(() =>
        W.KeyFrag.fromBytes(bytes).verify(wasmPk(p.verifyingPk), wasmPk(p.delegatingPk), wasmPk(p.receivingPk)),
      ).to.throw();
    });

    it("a kfrag with another id, or checked against other keys, fails the signature check", function () {
      const bytes = p.kfrags[0].toBytes();
      const badId = patched(bytes, 1 + 36 + 2, new Uint8Array(32).fill(7));
      expect(() => T.KeyFrag.fromBytes(badId).verify(p.verifyingPk, p.delegatingPk, p.receivingPk))
        .to.throw(T.KeyFragVerificationError)
        .with.property("reason", "IncorrectSignature");
      const stranger = T.SecretKey.random().publicKey();
      for (const keys of [
        [stranger, p.delegatingPk, p.receivingPk],
        [p.verifyingPk, stranger, p.receivingPk],
        [p.verifyingPk, p.delegatingPk, stranger],
      ]) {
        expect(() => T.KeyFrag.fromBytes(bytes).verify(keys[0], keys[1], keys[2])).to.throw(
          T.KeyFragVerificationError,
          /signature/,
        );
      }
    });

    for (const field of ["e1", "v1", "e2", "v2", "u2"] as const) {
      it(`a cfrag with another ${field} fails with ReencryptionProofError`, function () {
        expect(() => verifyCFrag(patched(good, CF[field], otherPoint))).to.throw(T.ReencryptionProofError);
      });
    }

    it("a cfrag with another z fails with ReencryptionProofError", function () {
      const z = good.slice(CF.z, CF.z + 32);
      z[31] ^= 1;
      expect(() => verifyCFrag(patched(good, CF.z, z))).to.throw(T.ReencryptionProofError);
    });

    for (const field of ["id", "precursor", "u1"] as const) {
      it(`a cfrag with another ${field} fails the kfrag signature (KeyFragSignatureError)`, function () {
        const patch = field === "id" ? new Uint8Array(32).fill(9) : otherPoint;
        expect(() => verifyCFrag(patched(good, CF[field], patch))).to.throw(T.KeyFragSignatureError);
      });
    }

    // CapsuleFrag.verify folds the signature into the proof's multi-scalar product; these pin down which
    // error names the failure when one or both are wrong.
    it("a cfrag with a bad signature and a bad proof names the signature (KeyFragSignatureError)", function () {
      const bad = patched(patched(good, CF.id, new Uint8Array(32).fill(9)), CF.e2, otherPoint);
      expect(() => verifyCFrag(bad)).to.throw(T.KeyFragSignatureError);
    });

    it("a cfrag whose kfrag signature has its high-S twin fails with KeyFragSignatureError", function () {
      const sig = good.slice(CF.sig, CF.sig + 64);
      const s = BigInt("0x" + Buffer.from(sig.subarray(32)).toString("hex"));
      const high = Buffer.from((secp256k1.Point.Fn.ORDER - s).toString(16).padStart(64, "0"), "hex");
      sig.set(high, 32);
      expect(() => verifyCFrag(patched(good, CF.sig, sig))).to.throw(T.KeyFragSignatureError);
    });

    it("an honest cfrag passes the randomized batched check every time", function () {
      for (let i = 0; i < 20; i++) expect(() => verifyCFrag(good)).not.to.throw();
    });

    it("a cfrag checked against another capsule fails with ReencryptionProofError", function () {
      const [other] = T.encrypt(p.delegatingPk, utf8("x"));
      expect(() => verifyCFrag(good, other)).to.throw(T.ReencryptionProofError);
    });

    it("a cfrag checked against other keys fails with KeyFragSignatureError, on both sides", function () {
      const cf = T.CapsuleFrag.fromBytesSimple(good);
      const stranger = T.SecretKey.random().publicKey();
      expect(() => cf.verify(p.capsule, stranger, p.delegatingPk, p.receivingPk)).to.throw(T.KeyFragSignatureError);
      expect(() => cf.verify(p.capsule, p.verifyingPk, stranger, p.receivingPk)).to.throw(T.KeyFragSignatureError);
      expect(() => cf.verify(p.capsule, p.verifyingPk, p.delegatingPk, stranger)).to.throw(T.KeyFragSignatureError);
      const wcf = W.CapsuleFrag.fromBytes(cf.toBytes());
      expect(() =>
        wcf.verify(
          W.Capsule.fromBytes(p.capsule.toBytes()),
          wasmPk(stranger),
          wasmPk(p.delegatingPk),
          wasmPk(p.receivingPk),
        ),
      ).to.throw();
    });

    it("a tampered ciphertext, a truncated one, another capsule or another key fails with DecryptionError", function () {
      const ct = p.ciphertext.slice();
      ct[30] ^= 0x80;
      expect(() => T.decryptOriginal(p.delegatingSk, p.capsule, ct)).to.throw(
        T.DecryptionError,
        /authentication failed/,
      );
      expect(() => T.decryptOriginal(p.delegatingSk, p.capsule, p.ciphertext.subarray(0, 39))).to.throw(
        T.DecryptionError,
        /39 bytes/,
      );
      const [other] = T.encrypt(p.delegatingPk, utf8("other"));
      expect(() => T.decryptOriginal(p.delegatingSk, other, p.ciphertext)).to.throw(T.DecryptionError);
      expect(() => T.decryptOriginal(T.SecretKey.random(), p.capsule, p.ciphertext)).to.throw(T.DecryptionError);
      expect(() => T.decryptReencrypted(p.receivingSk, p.delegatingPk, p.capsule, p.cfrags.slice(0, 2), ct)).to.throw(
        T.DecryptionError,
      );
      // umbral-pre refuses the same tampered ciphertext.
      expect(() => W.decryptOriginal(wasmSk(p.delegatingSk), W.Capsule.fromBytes(p.capsule.toBytes()), ct)).to.throw();
    });
  });

  describe("combining capsule fragments", function () {
    const p = tsPolicy(3, 5);
    const open = (cfrags: T.VerifiedCapsuleFrag[], capsule = p.capsule) =>
      T.decryptReencrypted(p.receivingSk, p.delegatingPk, capsule, cfrags, p.ciphertext);

    it("fails with ReencryptionValidationError with fewer cfrags than the threshold", function () {
      expect(() => open(p.cfrags.slice(0, 2))).to.throw(
        T.ReencryptionValidationError,
        /the 2 capsule fragment\(s\) do not open/,
      );
      expect(() => open(p.cfrags.slice(4))).to.throw(T.ReencryptionValidationError);
    });

    it("fails with NoCapsuleFragsError on an empty list", function () {
      expect(() => open([])).to.throw(T.NoCapsuleFragsError);
    });

    it("fails with RepeatedCapsuleFragsError when a cfrag repeats", function () {
      const [a, b] = p.cfrags;
      expect(() => open([a, b, a])).to.throw(T.RepeatedCapsuleFragsError, /repeats kfrag id/);
    });

    it("fails with MismatchedCapsuleFragsError for cfrags of two policies", function () {
      const other = T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, 3, 5, true, true).map((k) =>
        T.reencrypt(p.capsule, k),
      );
      expect(() => open([p.cfrags[0], p.cfrags[1], other[2]])).to.throw(T.MismatchedCapsuleFragsError, /precursor/);
    });

    it("fails with ReencryptionValidationError, never a plaintext, for unverified bad cfrags or another capsule", function () {
      const bad = p.cfrags[0].toBytesSimple();
      bad.set(T.SecretKey.random().publicKey().toCompressedBytes(), CF.e1);
      const trusted = T.CapsuleFrag.fromBytesSimple(bad).skipVerification();
      expect(() => open([trusted, p.cfrags[1], p.cfrags[2]])).to.throw(T.ReencryptionValidationError);
      const [other] = T.encrypt(p.delegatingPk, utf8("other"));
      expect(() => open(p.cfrags.slice(0, 3), other)).to.throw(T.ReencryptionValidationError);
    });

    it("fails for the wrong receiving key or delegating key", function () {
      expect(() =>
        T.decryptReencrypted(T.SecretKey.random(), p.delegatingPk, p.capsule, p.cfrags, p.ciphertext),
      ).to.throw(T.ReencryptionValidationError);
      expect(() =>
        T.decryptReencrypted(p.receivingSk, T.SecretKey.random().publicKey(), p.capsule, p.cfrags, p.ciphertext),
      ).to.throw(T.ReencryptionValidationError);
    });

    it("every error is an UmbralError with a message", function () {
      try {
        open([]);
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(T.UmbralError).and.instanceOf(T.OpenReencryptedError);
        expect((e as Error).name).to.equal("NoCapsuleFragsError");
      }
    });
  });

  describe("secrets stay out of logs", function () {
    it("prints no secret key, signer or factory material", function () {
      const sk = T.SecretKey.random();
      const text = `${sk} ${new T.Signer(sk)} ${T.SecretKeyFactory.random()} ${JSON.stringify(sk)}`;
      expect(text).not.to.include(hex(sk.toBEBytes()));
      expect(text).to.equal("SecretKey:... Signer:... SecretKeyFactory:... {}");
    });
  });
});
