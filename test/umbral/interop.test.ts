// Interop with @nucypher/umbral-pre 0.10 (the WASM build of rust-umbral), both directions, random cases:
// objects made by one side decode, verify and decrypt on the other, and re-encode to the same bytes.
import { expect } from "chai";
import { hex, pick, randInt, randomPlaintext, T, tsParties, tsPk, W, wasmPk, wasmSk } from "./oracle";

const CASES = 24;

describe("umbral interop with umbral-pre 0.10", function () {
  describe("TypeScript → umbral-pre", function () {
    for (let n = 0; n < CASES; n++) {
      const shares = randInt(1, 6);
      const threshold = randInt(1, shares);
      const signDk = Math.random() < 0.5;
      const signRk = Math.random() < 0.5;
      it(`case ${n}: ${threshold}-of-${shares}, signs dk=${signDk} rk=${signRk}: WASM verifies, re-encrypts and decrypts`, function () {
        const p = tsParties();
        const plaintext = randomPlaintext();
        const [capsule, ciphertext] = T.encrypt(p.delegatingPk, plaintext);
        const kfrags = T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, threshold, shares, signDk, signRk);

        const wCapsule = W.Capsule.fromBytes(capsule.toBytes());
        expect(hex(wCapsule.toBytes())).to.equal(hex(capsule.toBytes()));
        expect(hex(wCapsule.toBytesSimple())).to.equal(hex(capsule.toBytesSimple()));
        expect(W.decryptOriginal(wasmSk(p.delegatingSk), wCapsule, ciphertext)).to.deep.equal(plaintext);

        const [vk, dk, rk] = [wasmPk(p.verifyingPk), wasmPk(p.delegatingPk), wasmPk(p.receivingPk)];
        const wCFrags = kfrags.map((k) => {
          const wk = W.KeyFrag.fromBytes(k.toBytes()).verify(vk, signDk ? dk : null, signRk ? rk : null);
          expect(hex(wk.toBytes())).to.equal(hex(k.toBytes()));
          return W.reencrypt(wCapsule, wk);
        });

        // TypeScript verifies the WASM cfrags and decrypts with any threshold-sized subset.
        const vcfrags = wCFrags.map((c) => {
          const cf = T.CapsuleFrag.fromBytes(c.toBytes());
          expect(hex(cf.toBytes())).to.equal(hex(c.toBytes()));
          expect(hex(cf.toBytesSimple())).to.equal(hex(c.toBytesSimple()));
          return cf.verify(capsule, p.verifyingPk, p.delegatingPk, p.receivingPk);
        });
        const subset = pick(shares, threshold).map((i) => vcfrags[i]);
        expect(T.decryptReencrypted(p.receivingSk, p.delegatingPk, capsule, subset, ciphertext)).to.deep.equal(
          plaintext,
        );

        // And WASM decrypts with its own cfrags, re-verified from bytes.
        const wSubset = pick(shares, threshold).map((i) =>
          W.CapsuleFrag.fromBytes(wCFrags[i].toBytes()).verify(W.Capsule.fromBytes(capsule.toBytes()), vk, dk, rk),
        );
        const out = W.decryptReencrypted(wasmSk(p.receivingSk), dk, wCapsule, wSubset, ciphertext);
        expect(out).to.deep.equal(plaintext);
      });
    }
  });

  describe("umbral-pre → TypeScript", function () {
    for (let n = 0; n < CASES; n++) {
      const shares = randInt(1, 6);
      const threshold = randInt(1, shares);
      const signDk = Math.random() < 0.5;
      const signRk = Math.random() < 0.5;
      it(`case ${n}: ${threshold}-of-${shares}, signs dk=${signDk} rk=${signRk}: TypeScript verifies, re-encrypts and decrypts`, function () {
        const wDSk = W.SecretKey.random();
        const wRSk = W.SecretKey.random();
        const wSigner = new W.Signer(W.SecretKey.random());
        const plaintext = randomPlaintext();
        const [wCapsule, ciphertext] = W.encrypt(wDSk.publicKey(), plaintext);
        const wKFrags = W.generateKFrags(wDSk, wRSk.publicKey(), wSigner, threshold, shares, signDk, signRk);

        const dSk = T.SecretKey.fromBEBytes(wDSk.toBEBytes());
        const rSk = T.SecretKey.fromBEBytes(wRSk.toBEBytes());
        const [vk, dk, rk] = [tsPk(wSigner.verifyingKey()), dSk.publicKey(), rSk.publicKey()];
        expect(hex(dk.toCompressedBytes())).to.equal(hex(wDSk.publicKey().toCompressedBytes()));

        const capsule = T.Capsule.fromBytes(wCapsule.toBytes());
        expect(hex(capsule.toBytes())).to.equal(hex(wCapsule.toBytes()));
        expect(T.decryptOriginal(dSk, capsule, ciphertext)).to.deep.equal(plaintext);

        const cfrags = wKFrags.map((wk) => {
          const k = T.KeyFrag.fromBytes(wk.toBytes());
          expect(hex(k.toBytes())).to.equal(hex(wk.toBytes()));
          return T.reencrypt(capsule, k.verify(vk, signDk ? dk : null, signRk ? rk : null));
        });

        // WASM verifies the TypeScript cfrags (rebuilt per use) and decrypts.
        const [wvk, wdk, wrk] = [wSigner.verifyingKey(), wDSk.publicKey(), wRSk.publicKey()];
        const wSubset = pick(shares, threshold).map((i) =>
          W.CapsuleFrag.fromBytes(cfrags[i].toBytes()).verify(W.Capsule.fromBytes(wCapsule.toBytes()), wvk, wdk, wrk),
        );
        expect(W.decryptReencrypted(wRSk, wdk, wCapsule, wSubset, ciphertext)).to.deep.equal(plaintext);

        // A mix of WASM- and TypeScript-made cfrags of the same policy opens the capsule too.
        const mixed = pick(shares, threshold).map((i) =>
          i % 2 === 0
            ? cfrags[i]
            : T.CapsuleFrag.fromBytes(W.reencrypt(wCapsule, wKFrags[i]).toBytes()).verify(capsule, vk, dk, rk),
        );
        expect(T.decryptReencrypted(rSk, dk, capsule, mixed, ciphertext)).to.deep.equal(plaintext);
      });
    }
  });
});
