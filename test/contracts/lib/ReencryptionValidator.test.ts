// ReencryptionValidator (through its harness): the challenge and the kfrag validity digest match rust-umbral
// (umbral-pre) and our module; hints built by src/slashing match umbral-pre's own ReencryptionEvidence; every
// cheat is judged, including a cfrag whose e1 has x ≥ N (the ecrecover trick's blind spot).
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import * as pre from "@nucypher/umbral-pre";
import { secp256k1 } from "@noble/curves/secp256k1";
import { buildHints, evidenceOf, HINTS_LENGTH, packKeys, predictVerdict, Verdict } from "../../../src/slashing";
import { CapsuleFrag } from "../../../src/umbral/cfrag";
import { CHEATS, attested, ourScenario, preScenario, withFields, type Scenario } from "../slashing/helpers";

const N = secp256k1.Point.Fn.ORDER;

async function harnessFixture() {
  return { v: await ethers.deployContract("ReencryptionValidatorHarness") };
}

function word(hints: Uint8Array, i: number): bigint {
  return BigInt(ethers.hexlify(hints.subarray(32 * i, 32 * i + 32)));
}

function oracleVk(signer: pre.Signer): [Uint8Array, Uint8Array] {
  const p = secp256k1.Point.fromBytes(signer.verifyingKey().toCompressedBytes()).toAffine();
  return [ethers.getBytes(ethers.toBeHex(p.x, 32)), ethers.getBytes(ethers.toBeHex(p.y, 32))];
}

function coords(p: pre.CurvePoint | [Uint8Array, Uint8Array]): [bigint, bigint] {
  const [x, y] = Array.isArray(p) ? p : p.coordinates()!;
  return [BigInt(ethers.hexlify(x)), BigInt(ethers.hexlify(y))];
}

async function judge(v: Awaited<ReturnType<typeof harnessFixture>>["v"], s: Scenario, cfrag: Uint8Array) {
  const a = attested(s, cfrag);
  return v.validate(a.capsule, a.cfrag, packKeys(a), buildHints(evidenceOf(a), a));
}

describe("ReencryptionValidator", function () {
  it("computes rust-umbral's challenge h and kfrag validity digest (umbral-pre and our module)", async function () {
    const { v } = await loadFixture(harnessFixture);
    for (const s of [ourScenario(), preScenario()]) {
      const ev = evidenceOf(attested(s));
      expect(await v.challenge(s.capsule, s.cfrag)).to.equal(ev.h);
      const keys = packKeys(attested(s));
      expect(await v.kfragValidityDigest(s.cfrag, keys)).to.equal(ethers.hexlify(ev.kfragValidityMessageHash));
    }
  });

  it("src/slashing hints carry umbral-pre's own evidence points", async function () {
    const alice = pre.SecretKey.random();
    const bob = pre.SecretKey.random();
    const signer = new pre.Signer(pre.SecretKey.random());
    const [capsule] = pre.encrypt(alice.publicKey(), new Uint8Array([9]));
    const [kfrag] = pre.generateKFrags(alice, bob.publicKey(), signer, 1, 1, false, false);
    const vcfrag = pre.reencrypt(capsule, kfrag);
    const s: Scenario = {
      origin: "umbral-pre",
      capsule: capsule.toBytesSimple(),
      cfrag: vcfrag.toBytesSimple(),
      otherCapsule: capsule.toBytesSimple(),
      otherCfrag: vcfrag.toBytesSimple(),
      delegatingKey: alice.publicKey().toCompressedBytes(),
      receivingKey: bob.publicKey().toCompressedBytes(),
      verifyingKey: signer.verifyingKey().toCompressedBytes(),
      rk: 0n,
    };
    const oracle = new pre.ReencryptionEvidence(
      capsule,
      vcfrag,
      signer.verifyingKey(),
      alice.publicKey(),
      bob.publicKey(),
    );
    const hints = buildHints(evidenceOf(attested(s)), attested(s));
    expect([word(hints, 0), word(hints, 1)]).to.deep.equal(coords(oracle.e1h));
    expect([word(hints, 2), word(hints, 3)]).to.deep.equal(coords(oracle.v1h));
    expect([word(hints, 4), word(hints, 5)]).to.deep.equal(coords(oracle.u1h));
    expect(word(hints, 6)).to.equal(coords(oracleVk(signer))[1]); // the verifying key's y
    const y = (bytes: Uint8Array) => secp256k1.Point.fromBytes(bytes).toAffine().y;
    expect(word(hints, 10)).to.equal(y(s.cfrag.subarray(98, 131))); // the precursor's y
    expect(word(hints, 11)).to.equal(y(s.delegatingKey));
    expect(word(hints, 12)).to.equal(y(s.receivingKey));
    expect(hints[HINTS_LENGTH - 1]).to.equal(oracle.kfragSignatureV ? 1 : 0);
  });

  for (const [origin, make] of [
    ["our module", ourScenario],
    ["umbral-pre", preScenario],
  ] as const) {
    it(`judges honest and cheating cfrags made from ${origin} as predicted off-chain`, async function () {
      const { v } = await loadFixture(harnessFixture);
      const s = make();
      expect(await judge(v, s, s.cfrag)).to.equal(Verdict.Correct);
      for (const cheat of Object.values(CHEATS)) {
        const { cfrag } = cheat.make(s);
        expect(predictVerdict(evidenceOf(attested(s, cfrag)))).to.equal(cheat.verdict);
        expect(await judge(v, s, cfrag)).to.equal(cheat.verdict);
      }
    });
  }

  it("judges a cheat whose e1 has x ≥ N (checked through the product, not rejected)", async function () {
    const { v } = await loadFixture(harnessFixture);
    const s = ourScenario();
    let e1;
    for (let x = N; !e1; x++) {
      try {
        e1 = secp256k1.Point.fromHex("03" + x.toString(16).padStart(64, "0"));
      } catch {
        continue;
      }
    }
    const cfrag = withFields(CapsuleFrag.fromBytesSimple(s.cfrag), { e1 }).toBytesSimple();
    expect(await judge(v, s, cfrag)).to.equal(Verdict.EEquationFailed);
  });
});
