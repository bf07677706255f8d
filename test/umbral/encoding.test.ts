// Byte-level compatibility and strict decoding: deterministic values equal umbral-pre's byte for byte,
// and every `fromBytes` rejects wrong lengths, bad prefixes, off-curve points, out-of-range scalars,
// wrong MessagePack tags and trailing bytes with a DeserializationError.
import { expect } from "chai";
import fc from "fast-check";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { randomBytes } from "@noble/hashes/utils";
import { kdf } from "../../src/umbral/hash";
import { be32, hex, T, tsPolicy, utf8, W, wasmPk } from "./oracle";

const N_HEX = be32(T.CURVE_ORDER);

/** An x coordinate with no point on secp256k1 (x³ + 7 is not a square mod p). */
function offCurveX(): Uint8Array {
  const Fp = secp256k1.Point.Fp;
  for (let x = 1n; ; x++) {
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 7n);
    if (Fp.pow(rhs, (Fp.ORDER - 1n) / 2n) !== 1n) return Uint8Array.from(Buffer.from(be32(x), "hex"));
  }
}

function withBytes(data: Uint8Array, offset: number, patch: Uint8Array): Uint8Array {
  const out = data.slice();
  out.set(patch, offset);
  return out;
}

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

describe("umbral encodings", function () {
  describe("deterministic values equal umbral-pre's", function () {
    it("derives the same public key from the same secret bytes (20 keys)", function () {
      for (let i = 0; i < 20; i++) {
        const sk = T.SecretKey.random();
        const w = W.SecretKey.fromBEBytes(sk.toBEBytes());
        expect(hex(sk.publicKey().toCompressedBytes())).to.equal(hex(w.publicKey().toCompressedBytes()));
        expect(hex(sk.toBEBytes())).to.equal(hex(w.toBEBytes()));
      }
    });

    it("kdf is HKDF-SHA256 without salt, as noble's hkdf, for every length and input size", function () {
      for (const length of [1, 16, 24, 31, 32, 33, 48, 64, 100]) {
        for (const size of [0, 1, 32, 33, 64, 65, 200]) {
          const ikm = randomBytes(size);
          const info = randomBytes(length % 40);
          expect(hex(kdf(ikm, info, length)), `${length} bytes from ${size}`).to.equal(
            hex(hkdf(sha256, ikm, undefined, info, length)),
          );
        }
      }
    });

    it("has umbral's second generator U", function () {
      const [x, y] = new W.Parameters().u.coordinates() as [Uint8Array, Uint8Array];
      expect(be32(T.UMBRAL_U.x)).to.equal(hex(x));
      expect(be32(T.UMBRAL_U.y)).to.equal(hex(y));
      expect(hex(T.UMBRAL_U.compressed)).to.equal("03079390d0fbe220fc34aab8ecbf49098098036820fadb98c03143e55db8ec73cd");
    });

    it("derives the same keys, secrets and child factories from a seed and label", function () {
      for (let i = 0; i < 10; i++) {
        const seed = secp256k1.utils.randomSecretKey();
        const label = utf8(`label-${i}-${"x".repeat(i * 7)}`);
        const f = T.SecretKeyFactory.fromSecureRandomness(seed);
        const w = W.SecretKeyFactory.fromSecureRandomness(seed);
        expect(hex(f.makeKey(label).toBEBytes())).to.equal(hex(w.makeKey(label).toBEBytes()));
        expect(hex(f.makeSecret(label))).to.equal(hex(w.makeSecret(label)));
        const child = f.makeFactory(label).makeKey(utf8("child"));
        expect(hex(child.toBEBytes())).to.equal(hex(w.makeFactory(label).makeKey(utf8("child")).toBEBytes()));
      }
      expect(T.SecretKeyFactory.seedSize()).to.equal(W.SecretKeyFactory.seedSize());
    });

    it("signs so that umbral-pre verifies, and verifies umbral-pre's signatures (hedged, so not byte-equal)", function () {
      for (let i = 0; i < 10; i++) {
        const sk = T.SecretKey.random();
        const msg = utf8(`message ${i}`);
        const sig = new T.Signer(sk).sign(msg);
        expect(W.Signature.fromBEBytes(sig.toBEBytes()).verify(wasmPk(sk.publicKey()), msg)).to.equal(true);
        expect(hex(W.Signature.fromBEBytes(sig.toBEBytes()).toDerBytes())).to.equal(hex(sig.toDerBytes()));
        const wsig = new W.Signer(W.SecretKey.fromBEBytes(sk.toBEBytes())).sign(msg);
        expect(T.Signature.fromBEBytes(wsig.toBEBytes()).verify(sk.publicKey(), msg)).to.equal(true);
        expect(T.Signature.fromDerBytes(wsig.toDerBytes()).equals(T.Signature.fromBEBytes(wsig.toBEBytes()))).to.equal(
          true,
        );
        expect(T.Signature.fromBEBytes(wsig.toBEBytes()).verify(sk.publicKey(), utf8("other"))).to.equal(false);
      }
    });

    it("lays out the capsule, kfrag and cfrag as umbral-pre does (MessagePack and simple forms)", function () {
      const p = tsPolicy();
      const cap = p.capsule.toBytes();
      expect(cap.length).to.equal(105);
      expect(hex(cap.subarray(0, 3))).to.equal("93c421");
      expect(hex(cap.subarray(1 + 35 + 35, 1 + 35 + 35 + 2))).to.equal("c420");
      expect(hex(p.capsule.toBytesSimple())).to.equal(
        hex(cap.subarray(3, 36)) + hex(cap.subarray(38, 71)) + hex(cap.subarray(73)),
      );

      const kf = p.kfrags[0].toBytes();
      expect(kf.length).to.equal(310);
      expect(hex(kf.subarray(0, 4))).to.equal("9591c421");
      expect(hex(kf.subarray(4, 37))).to.equal(hex(T.UMBRAL_U.compressed));
      expect(hex(kf.subarray(kf.length - 2))).to.equal("c3c3");

      const cf = p.cfrags[0].toBytes();
      expect(cf.length).to.equal(381);
      expect(cf[0]).to.equal(0x95);
      const simple = p.cfrags[0].toBytesSimple();
      expect(simple.length).to.equal(359);
      // The simple form is the MessagePack fields with their headers stripped, in the same order.
      const stripped: number[] = [];
      let i = 1;
      while (i < cf.length) {
        if (cf[i] === 0x96) {
          i += 1;
          continue;
        }
        expect(cf[i]).to.equal(0xc4);
        stripped.push(...cf.subarray(i + 2, i + 2 + cf[i + 1]));
        i += 2 + cf[i + 1];
      }
      expect(hex(Uint8Array.from(stripped))).to.equal(hex(simple));
    });

    it("round-trips the simple forms", function () {
      const p = tsPolicy();
      expect(T.Capsule.fromBytesSimple(p.capsule.toBytesSimple()).equals(p.capsule)).to.equal(true);
      const cf = p.cfrags[1].unverify();
      expect(T.CapsuleFrag.fromBytesSimple(cf.toBytesSimple()).equals(cf)).to.equal(true);
    });
  });

  describe("rejects malformed input", function () {
    const p = tsPolicy();
    const capsule = p.capsule.toBytes();
    const kfrag = p.kfrags[0].toBytes();
    const cfrag = p.cfrags[0].toBytes();
    const capsuleSimple = p.capsule.toBytesSimple();
    const cfragSimple = p.cfrags[0].toBytesSimple();
    const decoders: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
      ["Capsule.fromBytes", capsule, T.Capsule.fromBytes],
      ["Capsule.fromBytesSimple", capsuleSimple, T.Capsule.fromBytesSimple],
      ["KeyFrag.fromBytes", kfrag, T.KeyFrag.fromBytes],
      ["CapsuleFrag.fromBytes", cfrag, T.CapsuleFrag.fromBytes],
      ["CapsuleFrag.fromBytesSimple", cfragSimple, T.CapsuleFrag.fromBytesSimple],
      ["SecretKey.fromBEBytes", p.delegatingSk.toBEBytes(), T.SecretKey.fromBEBytes],
      ["PublicKey.fromCompressedBytes", p.delegatingPk.toCompressedBytes(), T.PublicKey.fromCompressedBytes],
      ["Signature.fromBEBytes", p.kfrags[0].kfrag.signatureForProxy.toBEBytes(), T.Signature.fromBEBytes],
    ];

    for (const [name, good, decode] of decoders) {
      it(`${name}: one byte short, one trailing byte, empty`, function () {
        expect(() => decode(good)).not.to.throw();
        expect(() => decode(good.subarray(0, good.length - 1))).to.throw(T.DeserializationError);
        expect(() => decode(Uint8Array.from([...good, 0]))).to.throw(T.DeserializationError);
        expect(() => decode(new Uint8Array(0))).to.throw(T.DeserializationError);
      });
    }

    // Offsets of one point field and one scalar field in each encoding.
    const pointAt: [string, Uint8Array, number, (b: Uint8Array) => unknown][] = [
      ["Capsule.fromBytes E", capsule, 3, T.Capsule.fromBytes],
      ["Capsule.fromBytesSimple V", capsuleSimple, 33, T.Capsule.fromBytesSimple],
      ["KeyFrag.fromBytes precursor", kfrag, 1 + 36 + 34 + 34 + 2, T.KeyFrag.fromBytes],
      ["CapsuleFrag.fromBytes e1", cfrag, 3, T.CapsuleFrag.fromBytes],
      ["CapsuleFrag.fromBytesSimple u2", cfragSimple, 230, T.CapsuleFrag.fromBytesSimple],
      ["PublicKey.fromCompressedBytes", p.delegatingPk.toCompressedBytes(), 0, T.PublicKey.fromCompressedBytes],
    ];
    for (const [name, good, off, decode] of pointAt) {
      it(`${name}: bad prefix, uncompressed prefix, point off the curve, x ≥ p`, function () {
        for (const prefix of [0x00, 0x04, 0x05, 0xff]) {
          expect(() => decode(withBytes(good, off, Uint8Array.of(prefix))), `prefix ${prefix}`).to.throw(
            T.DeserializationError,
            /prefix/,
          );
        }
        expect(() => decode(withBytes(good, off + 1, offCurveX()))).to.throw(T.DeserializationError, /not a point/);
        expect(() => decode(withBytes(good, off + 1, new Uint8Array(32).fill(0xff)))).to.throw(T.DeserializationError);
      });
    }

    const scalarAt: [string, Uint8Array, number, (b: Uint8Array) => unknown][] = [
      ["Capsule.fromBytes s", capsule, 73, T.Capsule.fromBytes],
      ["Capsule.fromBytesSimple s", capsuleSimple, 66, T.Capsule.fromBytesSimple],
      ["KeyFrag.fromBytes rk", kfrag, 1 + 36 + 34 + 2, T.KeyFrag.fromBytes],
      ["CapsuleFrag.fromBytes z", cfrag, 1 + 35 + 35 + 34 + 35 + 1 + 35 * 4 + 2, T.CapsuleFrag.fromBytes],
      ["CapsuleFrag.fromBytesSimple z", cfragSimple, 263, T.CapsuleFrag.fromBytesSimple],
      ["SecretKey.fromBEBytes", p.delegatingSk.toBEBytes(), 0, T.SecretKey.fromBEBytes],
      ["Signature.fromBEBytes r", p.kfrags[0].kfrag.signatureForProxy.toBEBytes(), 0, T.Signature.fromBEBytes],
      ["Signature.fromBEBytes s", p.kfrags[0].kfrag.signatureForProxy.toBEBytes(), 32, T.Signature.fromBEBytes],
    ];
    for (const [name, good, off, decode] of scalarAt) {
      it(`${name}: zero, n, 2^256 − 1`, function () {
        expect(() => decode(withBytes(good, off, new Uint8Array(32)))).to.throw(T.DeserializationError, /zero|not in/);
        expect(() => decode(withBytes(good, off, fromHex(N_HEX)))).to.throw(T.DeserializationError, /order|not in/);
        expect(() => decode(withBytes(good, off, new Uint8Array(32).fill(0xff)))).to.throw(T.DeserializationError);
      });
    }

    it("rejects wrong MessagePack tags: array sizes, bin8 markers, field lengths, booleans", function () {
      expect(() => T.Capsule.fromBytes(withBytes(capsule, 0, Uint8Array.of(0x94)))).to.throw(
        T.DeserializationError,
        /3-item array/,
      );
      expect(() => T.Capsule.fromBytes(withBytes(capsule, 1, Uint8Array.of(0xc5)))).to.throw(
        T.DeserializationError,
        /bin8/,
      );
      expect(() => T.Capsule.fromBytes(withBytes(capsule, 2, Uint8Array.of(0x20)))).to.throw(
        T.DeserializationError,
        /33 bytes/,
      );
      expect(() => T.KeyFrag.fromBytes(withBytes(kfrag, 1, Uint8Array.of(0x92)))).to.throw(T.DeserializationError);
      expect(() => T.KeyFrag.fromBytes(withBytes(kfrag, kfrag.length - 1, Uint8Array.of(0x01)))).to.throw(
        T.DeserializationError,
        /boolean/,
      );
      expect(() => T.CapsuleFrag.fromBytes(withBytes(cfrag, 140, Uint8Array.of(0x95)))).to.throw(
        T.DeserializationError,
      );
    });

    it("rejects a kfrag whose parameter U is another point", function () {
      expect(() => T.KeyFrag.fromBytes(withBytes(kfrag, 4, p.delegatingPk.toCompressedBytes()))).to.throw(
        T.DeserializationError,
        /second generator/,
      );
    });

    it("rejects a tampered capsule with CapsuleVerificationError (valid points, wrong s)", function () {
      const s = p.capsule.toBytesSimple().slice(66);
      s[31] ^= 1;
      expect(() => T.Capsule.fromBytes(withBytes(capsule, 73, s))).to.throw(T.CapsuleVerificationError);
      expect(() => T.Capsule.fromBytesSimple(withBytes(capsuleSimple, 66, s))).to.throw(T.CapsuleVerificationError);
      // umbral-pre agrees that this capsule is invalid.
      expect(() => W.Capsule.fromBytes(withBytes(capsule, 73, s))).to.throw();
    });

    it("rejects a seed of the wrong size", function () {
      expect(() => T.SecretKeyFactory.fromSecureRandomness(new Uint8Array(31))).to.throw(
        T.DeserializationError,
        /32 bytes, got 31/,
      );
    });

    it("never throws anything but an UmbralError on random mutations (fuzz)", function () {
      const targets: [Uint8Array, (b: Uint8Array) => unknown][] = [
        [capsule, T.Capsule.fromBytes],
        [kfrag, T.KeyFrag.fromBytes],
        [cfrag, T.CapsuleFrag.fromBytes],
        [cfragSimple, T.CapsuleFrag.fromBytesSimple],
      ];
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: targets.length - 1 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (t, pos, xor) => {
            const [good, decode] = targets[t];
            const bad = good.slice();
            bad[pos % bad.length] ^= xor;
            try {
              decode(bad);
            } catch (e) {
              expect(e).to.be.instanceOf(T.UmbralError);
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});
