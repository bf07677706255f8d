// Adjudicator: verdicts on honest and cheating cfrags (from our Umbral and from umbral-pre), replay guard,
// operator mapping, hint tampering, penalty schedule and events. Runs against AdjudicatorEscrowMock.
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { secp256k1 } from "@noble/curves/secp256k1";
import { invert } from "@noble/curves/abstract/modular";
import {
  attestationDigest,
  attestationDomainOf,
  buildEvaluationArgs,
  evidenceOf,
  HINTS_LENGTH,
  HINTS_LENGTH_PROVING,
  packEvidence,
  recoverOperator,
  predictVerdict,
  signCFrag,
  Verdict,
  type EvaluationArgs,
  type SignedCFrag,
} from "../../../src/slashing";
import * as umbral from "../../../src/umbral";
import { CHEATS, attested, ourScenario, preScenario, signAsNode, type Scenario } from "./helpers";

const BASE_PENALTY = 100n * 10n ** 18n;
const HISTORY_COEFFICIENT = 50n * 10n ** 18n;
const PERCENTAGE_COEFFICIENT = 10n;
const REWARD_COEFFICIENT = 4n;
const STAKE = 10_000n * 10n ** 18n;

const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

async function deployFixture() {
  const [deployer, operator, staker, reporter, stranger] = await ethers.getSigners();
  const escrow = await ethers.deployContract("AdjudicatorEscrowMock");
  const adjudicator = await ethers.deployContract("Adjudicator", [
    await escrow.getAddress(),
    BASE_PENALTY,
    HISTORY_COEFFICIENT,
    PERCENTAGE_COEFFICIENT,
    REWARD_COEFFICIENT,
  ]);
  await escrow.setAdjudicator(await adjudicator.getAddress());
  await escrow.bond(operator.address, staker.address, STAKE);
  return { deployer, operator, staker, reporter, stranger, escrow, adjudicator };
}

/** The EIP-712 digest the Adjudicator computes for `signed` (what the node signed). */
async function digestOf(adjudicator: { attestationDigest(e: Uint8Array): Promise<string> }, signed: SignedCFrag) {
  return adjudicator.attestationDigest(packEvidence(signed));
}

function args(a: EvaluationArgs): [Uint8Array, Uint8Array, Uint8Array] {
  return [a.evidence, a.nodeSignature, a.hints];
}

function withWord(hints: Uint8Array, index: number, value: bigint): Uint8Array {
  const out = hints.slice();
  out.set(ethers.getBytes(ethers.toBeHex(value, 32)), 32 * index);
  return out;
}

/** evaluateCFrag arguments without hints, for bytes no Umbral decoder accepts. */
function buildEvaluationArgsLoose(signed: SignedCFrag): EvaluationArgs {
  return { evidence: packEvidence(signed), nodeSignature: signed.nodeSignature, hints: new Uint8Array(HINTS_LENGTH) };
}

/** `hints` with the 32-byte word at byte `offset` (any offset) replaced by `value`. */
function withWordAt(hints: Uint8Array, offset: number, value: bigint): Uint8Array {
  const out = hints.slice();
  out.set(ethers.getBytes(ethers.toBeHex(value, 32)), offset);
  return out;
}

/** The 481-byte hints for any in-range kfrag signature of `a`: its 417 bytes, s⁻¹ mod N and a y of x = r. */
function provingHints(a: EvaluationArgs): Uint8Array {
  const signature = a.evidence.subarray(98 + 295, 98 + 359);
  const r = BigInt(ethers.hexlify(signature.subarray(0, 32)));
  const s = BigInt(ethers.hexlify(signature.subarray(32, 64)));
  const y = secp256k1.Point.Fp.sqrt((r * r * r + 7n) % P);
  const out = new Uint8Array(HINTS_LENGTH_PROVING);
  out.set(a.hints.subarray(0, HINTS_LENGTH));
  return withWordAt(withWordAt(out, HINTS_LENGTH, invert(s, umbral.CURVE_ORDER)), HINTS_LENGTH + 32, y);
}

function wordAt(hints: Uint8Array, index: number): bigint {
  return BigInt(ethers.hexlify(hints.subarray(32 * index, 32 * index + 32)));
}

const SCENARIOS: [string, () => Scenario][] = [
  ["our Umbral module", ourScenario],
  ["@nucypher/umbral-pre", preScenario],
];

describe("Adjudicator", function () {
  describe("deployment", function () {
    it("stores the penalty parameters and the escrow", async function () {
      const { adjudicator, escrow } = await loadFixture(deployFixture);
      expect(await adjudicator.escrow()).to.equal(await escrow.getAddress());
      expect(await adjudicator.basePenalty()).to.equal(BASE_PENALTY);
      expect(await adjudicator.penaltyHistoryCoefficient()).to.equal(HISTORY_COEFFICIENT);
      expect(await adjudicator.percentagePenaltyCoefficient()).to.equal(PERCENTAGE_COEFFICIENT);
      expect(await adjudicator.rewardCoefficient()).to.equal(REWARD_COEFFICIENT);
    });

    it("reverts on a zero escrow or a zero divisor", async function () {
      const { adjudicator, escrow } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("Adjudicator");
      const e = await escrow.getAddress();
      await expect(factory.deploy(ethers.ZeroAddress, 1, 1, 1, 1)).to.be.revertedWithCustomError(
        adjudicator,
        "AdjudicatorZeroEscrow",
      );
      await expect(factory.deploy(e, 1, 1, 0, 1)).to.be.revertedWithCustomError(
        adjudicator,
        "AdjudicatorZeroPercentageCoefficient",
      );
      await expect(factory.deploy(e, 1, 1, 1, 0)).to.be.revertedWithCustomError(
        adjudicator,
        "AdjudicatorZeroRewardCoefficient",
      );
    });
  });

  for (const [origin, make] of SCENARIOS) {
    describe(`cfrags made by ${origin}`, function () {
      it("judges a correct cfrag Correct, records nothing and slashes nobody", async function () {
        const { adjudicator, operator, staker, reporter, escrow } = await loadFixture(deployFixture);
        const signed = await signAsNode(operator, attested(make()), adjudicator);
        const a = buildEvaluationArgs(signed);
        const hash = await digestOf(adjudicator, signed);
        expect(predictVerdict(evidenceOf(signed))).to.equal(Verdict.Correct);
        expect(await adjudicator.connect(reporter).evaluateCFrag.staticCall(...args(a))).to.equal(Verdict.Correct);
        await expect(adjudicator.connect(reporter).evaluateCFrag(...args(a)))
          .to.emit(adjudicator, "CFragEvaluated")
          .withArgs(hash, staker.address, reporter.address, operator.address, Verdict.Correct)
          .and.not.to.emit(escrow, "MockSlashed");
        // A Correct verdict is not recorded: judging it again judges it Correct again and changes nothing.
        expect(await adjudicator.isEvaluated(hash, staker.address)).to.equal(false);
        await expect(adjudicator.connect(reporter).evaluateCFrag(...args(a)))
          .to.emit(adjudicator, "CFragEvaluated")
          .withArgs(hash, staker.address, reporter.address, operator.address, Verdict.Correct);
        expect(await adjudicator.offencesOf(staker.address)).to.equal(0n);
        expect(await escrow.stakeOf(staker.address)).to.equal(STAKE);
        await expect(adjudicator.claimReward(hash, staker.address))
          .to.be.revertedWithCustomError(adjudicator, "NothingToClaim")
          .withArgs(hash, staker.address);
      });

      for (const [name, cheat] of Object.entries(CHEATS)) {
        it(`slashes ${name}`, async function () {
          const { adjudicator, operator, staker, reporter, escrow } = await loadFixture(deployFixture);
          const s = make();
          const { capsule, cfrag } = cheat.make(s);
          const signed = await signAsNode(operator, attested(s, cfrag, capsule), adjudicator);
          const a = buildEvaluationArgs(signed);
          expect(predictVerdict(evidenceOf(signed))).to.equal(cheat.verdict);
          const penalty = BASE_PENALTY;
          const reward = penalty / REWARD_COEFFICIENT;
          await expect(adjudicator.connect(reporter).evaluateCFrag(...args(a)))
            .to.emit(adjudicator, "CFragEvaluated")
            .withArgs(
              await digestOf(adjudicator, signed),
              staker.address,
              reporter.address,
              operator.address,
              cheat.verdict,
            )
            .and.to.emit(escrow, "MockSlashed")
            .withArgs(staker.address, penalty, reporter.address, reward, penalty);
          expect(await adjudicator.offencesOf(staker.address)).to.equal(1n);
          expect(await escrow.stakeOf(staker.address)).to.equal(STAKE - penalty);
          // Pull payment: the penalty is held until the reward is claimed; anyone may settle, the reporter is paid.
          const digest = await digestOf(adjudicator, signed);
          expect(await escrow.held()).to.equal(penalty);
          expect(await escrow.rewardOf(reporter.address)).to.equal(0n);
          expect(await adjudicator.judgementOf(digest, staker.address)).to.deep.equal([
            reporter.address,
            penalty,
            reward,
          ]);
          expect(await adjudicator.claimReward.staticCall(digest, staker.address)).to.equal(reward);
          await expect(adjudicator.connect(staker).claimReward(digest, staker.address))
            .to.emit(adjudicator, "RewardClaimed")
            .withArgs(digest, staker.address, reporter.address, penalty, reward)
            .and.to.emit(escrow, "MockSettled")
            .withArgs(reporter.address, penalty, reward);
          expect(await escrow.held()).to.equal(0n);
          expect(await escrow.rewardOf(reporter.address)).to.equal(reward);
          expect(await escrow.reserve()).to.equal(penalty - reward);
          // Claimed once: the guard stays, the claim is gone.
          expect(await adjudicator.judgementOf(digest, staker.address)).to.deep.equal([reporter.address, 0n, 0n]);
          expect(await adjudicator.isEvaluated(digest, staker.address)).to.equal(true);
          await expect(adjudicator.claimReward(digest, staker.address))
            .to.be.revertedWithCustomError(adjudicator, "NothingToClaim")
            .withArgs(digest, staker.address);
        });
      }

      it("the node-side signer refuses to sign a cheating cfrag", async function () {
        const { operator } = await loadFixture(deployFixture);
        const s = make();
        const { cfrag } = CHEATS["a random z"].make(s);
        await expect(
          signCFrag(
            operator,
            umbral.Capsule.fromBytesSimple(s.capsule),
            umbral.CapsuleFrag.fromBytesSimple(cfrag),
            {
              delegatingPk: umbral.PublicKey.fromCompressedBytes(s.delegatingKey),
              receivingPk: umbral.PublicKey.fromCompressedBytes(s.receivingKey),
              verifyingPk: umbral.PublicKey.fromCompressedBytes(s.verifyingKey),
            },
            { chainId: 31337n, adjudicator: ethers.ZeroAddress },
          ),
        ).to.be.rejectedWith(/refusing to sign a cfrag that does not verify/);
      });
    });
  }

  describe("z = 0 (no Umbral decoder accepts it, the contract still judges it)", function () {
    it("slashes it: the E equation would need e2 = −h·e1", async function () {
      const { adjudicator, operator, staker, reporter, escrow } = await loadFixture(deployFixture);
      const s = ourScenario();
      const zero = s.cfrag.slice();
      zero.fill(0, 263, 295);
      const signed = await signAsNode(operator, attested(s, zero), adjudicator);
      // h does not depend on z, so the honest cfrag's hints are the right ones (z-products are ignored).
      const honestHints = buildEvaluationArgs(await signAsNode(operator, attested(s), adjudicator)).hints;
      const a = { ...buildEvaluationArgsLoose(signed), hints: honestHints };
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(a)))
        .to.emit(escrow, "MockSlashed")
        .withArgs(staker.address, BASE_PENALTY, reporter.address, BASE_PENALTY / REWARD_COEFFICIENT, BASE_PENALTY);
      expect(await adjudicator.offencesOf(staker.address)).to.equal(1n);
    });
  });

  describe("kfrag signatures no Umbral decoder accepts are invalid signatures", function () {
    for (const [name, r] of [
      ["r = 0", 0n],
      ["r = n", umbral.CURVE_ORDER],
    ] as const) {
      it(`judges ${name} KFragSignatureInvalid`, async function () {
        const { adjudicator, operator, staker, reporter } = await loadFixture(deployFixture);
        const s = preScenario();
        const bad = s.cfrag.slice();
        bad.set(ethers.getBytes(ethers.toBeHex(r, 32)), 295);
        const signed = await signAsNode(operator, attested(s, bad), adjudicator);
        const honestHints = buildEvaluationArgs(await signAsNode(operator, attested(s), adjudicator)).hints;
        await expect(
          adjudicator
            .connect(reporter)
            .evaluateCFrag(...args({ ...buildEvaluationArgsLoose(signed), hints: honestHints })),
        )
          .to.emit(adjudicator, "CFragEvaluated")
          .withArgs(
            await digestOf(adjudicator, signed),
            staker.address,
            reporter.address,
            operator.address,
            Verdict.KFragSignatureInvalid,
          );
      });
    }
  });

  describe("node-side signing", function () {
    it("signs a verified cfrag so that the Adjudicator maps it to the staker", async function () {
      const { adjudicator, operator, staker } = await loadFixture(deployFixture);
      const s = ourScenario();
      const signed = await signCFrag(
        operator,
        umbral.Capsule.fromBytesSimple(s.capsule),
        umbral.CapsuleFrag.fromBytesSimple(s.cfrag),
        {
          delegatingPk: umbral.PublicKey.fromCompressedBytes(s.delegatingKey),
          receivingPk: umbral.PublicKey.fromCompressedBytes(s.receivingKey),
          verifyingPk: umbral.PublicKey.fromCompressedBytes(s.verifyingKey),
        },
        await attestationDomainOf(adjudicator),
      );
      const a = buildEvaluationArgs(signed);
      await expect(adjudicator.evaluateCFrag(...args(a)))
        .to.emit(adjudicator, "CFragEvaluated")
        .withArgs(
          await digestOf(adjudicator, signed),
          staker.address,
          (await ethers.getSigners())[0].address,
          operator.address,
          Verdict.Correct,
        );
    });
  });

  describe("reverts", function () {
    async function honest(): Promise<
      { signed: SignedCFrag; a: EvaluationArgs } & Awaited<ReturnType<typeof deployFixture>>
    > {
      const f = await loadFixture(deployFixture);
      const signed = await signAsNode(f.operator, attested(ourScenario()), f.adjudicator);
      return { ...f, signed, a: buildEvaluationArgs(signed) };
    }

    it("refuses the same cheating evidence twice, claimed or not", async function () {
      const { adjudicator, operator, staker } = await loadFixture(deployFixture);
      const s = ourScenario();
      const signed = await signAsNode(operator, attested(s, CHEATS["a random z"].make(s).cfrag), adjudicator);
      const a = buildEvaluationArgs(signed);
      const digest = await digestOf(adjudicator, signed);
      await adjudicator.evaluateCFrag(...args(a));
      for (let claimed = 0; claimed < 2; claimed++) {
        await expect(adjudicator.evaluateCFrag(...args(a)))
          .to.be.revertedWithCustomError(adjudicator, "EvidenceAlreadyEvaluated")
          .withArgs(digest, staker.address);
        if (claimed === 0) await adjudicator.claimReward(digest, staker.address);
      }
      expect(await adjudicator.offencesOf(staker.address)).to.equal(1n);
    });

    it("exposes the EIP-712 digest the node signs, and rejects a malleated (high-S) node signature", async function () {
      const { adjudicator, operator, signed, a } = await honest();
      const domain = await attestationDomainOf(adjudicator);
      expect(await adjudicator.attestationDigest(a.evidence)).to.equal(attestationDigest(signed, domain));
      expect(recoverOperator(signed, domain)).to.equal(operator.address);
      await expect(adjudicator.attestationDigest(a.evidence.subarray(1)))
        .to.be.revertedWithCustomError(adjudicator, "WrongLength")
        .withArgs(4, 556, 555);
      const sig = ethers.Signature.from(ethers.hexlify(a.nodeSignature));
      const n = umbral.CURVE_ORDER;
      const highS = ethers.getBytes(
        ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), ethers.toBeHex(sig.v === 27 ? 28 : 27, 1)]),
      );
      await expect(adjudicator.evaluateCFrag(a.evidence, highS, a.hints))
        .to.be.revertedWithCustomError(adjudicator, "ECDSAInvalidSignatureS")
        .withArgs(ethers.toBeHex(n - BigInt(sig.s), 32));
    });

    it("refuses a cfrag signed by a key that is not a bonded operator", async function () {
      const { adjudicator, stranger } = await loadFixture(deployFixture);
      const signed = await signAsNode(stranger, attested(ourScenario()), adjudicator);
      await expect(adjudicator.evaluateCFrag(...args(buildEvaluationArgs(signed))))
        .to.be.revertedWithCustomError(adjudicator, "NotBondedOperator")
        .withArgs(stranger.address);
    });

    it("cannot frame a node with keys it did not attest (the signature then names nobody bonded)", async function () {
      const { adjudicator, operator, a } = await honest();
      const evidence = a.evidence.slice();
      evidence.set(umbral.SecretKey.random().publicKey().toCompressedBytes(), 98 + 359 + 33); // another receiving key
      const tx = adjudicator.evaluateCFrag(evidence, a.nodeSignature, a.hints);
      await expect(tx).to.be.revertedWithCustomError(adjudicator, "NotBondedOperator");
      const other = ethers.verifyMessage(ethers.getBytes(ethers.keccak256(evidence)), ethers.hexlify(a.nodeSignature));
      expect(other).to.not.equal(operator.address);
    });

    it("rejects wrong lengths", async function () {
      const { adjudicator, a } = await honest();
      const cases: [number, number, number, EvaluationArgs][] = [
        [4, 556, 555, { ...a, evidence: a.evidence.subarray(0, 555) }],
        [4, 556, 557, { ...a, evidence: ethers.getBytes(ethers.concat([a.evidence, "0x00"])) }],
        [3, HINTS_LENGTH, HINTS_LENGTH - 1, { ...a, hints: a.hints.subarray(0, HINTS_LENGTH - 1) }],
      ];
      for (const [what, expected, actual, bad] of cases) {
        await expect(adjudicator.evaluateCFrag(...args(bad)))
          .to.be.revertedWithCustomError(adjudicator, "WrongLength")
          .withArgs(what, expected, actual);
      }
      // The node signature goes through OpenZeppelin's ECDSA.recover.
      await expect(adjudicator.evaluateCFrag(...args({ ...a, nodeSignature: a.nodeSignature.subarray(0, 64) })))
        .to.be.revertedWithCustomError(adjudicator, "ECDSAInvalidSignatureLength")
        .withArgs(64);
    });

    it("rejects non-canonical points and scalars before the replay guard", async function () {
      const { adjudicator, operator } = await loadFixture(deployFixture);
      const s = ourScenario();
      const badPrefix = s.cfrag.slice();
      badPrefix[131] = 0x04; // e2 with an uncompressed-point prefix
      const xAboveP = s.cfrag.slice();
      xAboveP.set(ethers.getBytes(ethers.toBeHex(P + 1n, 32)), 132); // e2.x = p + 1 (same as x = 1 mod p)
      const zAboveN = s.cfrag.slice();
      const n = umbral.CURVE_ORDER;
      zAboveN.set(ethers.getBytes(ethers.toBeHex(n, 32)), 263); // z = n (same as 0 mod n)
      const hints = new Uint8Array(HINTS_LENGTH);
      const ev = (cfrag: Uint8Array) =>
        ethers.getBytes(ethers.concat([s.capsule, cfrag, s.delegatingKey, s.receivingKey, s.verifyingKey]));
      const sig = async (cfrag: Uint8Array) =>
        ethers.getBytes(await operator.signMessage(ethers.getBytes(ethers.keccak256(ev(cfrag)))));
      await expect(adjudicator.evaluateCFrag(ev(badPrefix), await sig(badPrefix), hints))
        .to.be.revertedWithCustomError(adjudicator, "NonCanonicalPoint")
        .withArgs(1, 131, 4, BigInt(ethers.hexlify(s.cfrag.subarray(132, 164))));
      await expect(adjudicator.evaluateCFrag(ev(xAboveP), await sig(xAboveP), hints))
        .to.be.revertedWithCustomError(adjudicator, "NonCanonicalPoint")
        .withArgs(1, 131, s.cfrag[131], P + 1n);
      await expect(adjudicator.evaluateCFrag(ev(zAboveN), await sig(zAboveN), hints))
        .to.be.revertedWithCustomError(adjudicator, "NonCanonicalScalar")
        .withArgs(1, 263, n);
    });

    it("rejects a point whose x is not on the curve", async function () {
      const { adjudicator, operator } = await loadFixture(deployFixture);
      const s = ourScenario();
      // Find an x with no point: x³ + 7 a non-residue.
      let x = 5n;
      for (;;) {
        try {
          umbral.PublicKey.fromCompressedBytes(ethers.getBytes(ethers.concat(["0x02", ethers.toBeHex(x, 32)])));
          x++;
        } catch {
          break;
        }
      }
      // e1 off the curve: its product check (the ecrecover trick) proves it, whatever the hints say.
      const offCurve = s.cfrag.slice();
      offCurve.set(ethers.getBytes(ethers.toBeHex(x, 32)), 1);
      const signed = await signAsNode(operator, attested(s, offCurve), adjudicator);
      const good = buildEvaluationArgs(await signAsNode(operator, attested(s), adjudicator));
      await expect(adjudicator.evaluateCFrag(packEvidence(signed), signed.nodeSignature, good.hints))
        .to.be.revertedWithCustomError(adjudicator, "PointNotOnCurve")
        .withArgs(x);
    });

    it("rejects a y hint that lies (the verifying key's other root) and never slashes", async function () {
      const { adjudicator, a } = await honest();
      const y = wordAt(a.hints, 6); // y(verifying key)
      const vk = a.evidence.subarray(98 + 359 + 66, 98 + 359 + 99);
      await expect(adjudicator.evaluateCFrag(...args({ ...a, hints: withWord(a.hints, 6, P - y) })))
        .to.be.revertedWithCustomError(adjudicator, "WrongYHint")
        .withArgs(BigInt(ethers.hexlify(vk.subarray(1))), vk[0] === 3, P - y);
    });

    it("rejects a product hint that lies", async function () {
      const { adjudicator, a } = await honest();
      const bad = withWord(a.hints, 0, wordAt(a.hints, 2)); // e1h.x := v1h.x
      await expect(adjudicator.evaluateCFrag(...args({ ...a, hints: bad }))).to.be.revertedWithCustomError(
        adjudicator,
        "WrongProductHint",
      );
    });

    it("rejects a slope hint that lies", async function () {
      const { adjudicator, a } = await honest();
      const slope = wordAt(a.hints, 7); // slope of e2 + h·e1, which also fixes e2's y
      await expect(adjudicator.evaluateCFrag(...args({ ...a, hints: withWord(a.hints, 7, slope + 1n) })))
        .to.be.revertedWithCustomError(adjudicator, "WrongSlopeHint")
        .withArgs(slope + 1n);
    });
  });

  describe("hints can change gas, never a verdict", function () {
    it("a wrong kfrag recovery id still judges an honest cfrag Correct", async function () {
      const { adjudicator, a } = await (async () => {
        const f = await loadFixture(deployFixture);
        return { ...f, a: buildEvaluationArgs(await signAsNode(f.operator, attested(preScenario()), f.adjudicator)) };
      })();
      const hints = a.hints.slice();
      hints[HINTS_LENGTH - 1] ^= 1;
      expect(await adjudicator.evaluateCFrag.staticCall(...args({ ...a, hints }))).to.equal(Verdict.Correct);
    });

    it("an invalid kfrag signature is proven with one ecrecover; wrong proof words fall back, never a verdict", async function () {
      const f = await loadFixture(deployFixture);
      const s = ourScenario();
      const forged = CHEATS["a self-consistent proof for a forged rk′ with U1′ = rk′·U"].make(s);
      const a = buildEvaluationArgs(await signAsNode(f.operator, attested(s, forged.cfrag), f.adjudicator));
      // The builder adds s⁻¹ and the nonce point's y only for a signature that does not verify.
      expect(a.hints.length).to.equal(HINTS_LENGTH_PROVING);
      const w = BigInt(ethers.hexlify(a.hints.subarray(HINTS_LENGTH, HINTS_LENGTH + 32)));
      const y = BigInt(ethers.hexlify(a.hints.subarray(HINTS_LENGTH + 32, HINTS_LENGTH + 64)));
      const variants: Uint8Array[] = [
        a.hints,
        withWordAt(a.hints, HINTS_LENGTH + 32, P - y), // the other root: either one decides
        withWordAt(a.hints, HINTS_LENGTH, w + 1n), // not s⁻¹: both recovery ids are tried
        withWordAt(a.hints, HINTS_LENGTH + 32, y + 1n), // not on the curve: likewise
        a.hints.subarray(0, HINTS_LENGTH), // no proof words at all
      ];
      for (const hints of variants) {
        expect(await f.adjudicator.evaluateCFrag.staticCall(...args({ ...a, hints }))).to.equal(
          Verdict.KFragSignatureInvalid,
        );
      }
      // One ecrecover (3k gas) instead of two, for 64 more calldata bytes.
      const proven = await f.adjudicator.evaluateCFrag.estimateGas(...args(a));
      const tried = await f.adjudicator.evaluateCFrag.estimateGas(...args({ ...a, hints: variants[4] }));
      expect(proven < tried).to.equal(true);
      await expect(f.adjudicator.connect(f.reporter).evaluateCFrag(...args(a)))
        .to.emit(f.adjudicator, "CFragEvaluated")
        .withArgs(
          await f.adjudicator.attestationDigest(a.evidence),
          f.staker.address,
          f.reporter.address,
          f.operator.address,
          Verdict.KFragSignatureInvalid,
        );
    });

    it("the one-ecrecover check accepts a valid kfrag signature, whichever root and with wrong words", async function () {
      const f = await loadFixture(deployFixture);
      for (const scenario of [ourScenario(), preScenario()]) {
        const a = buildEvaluationArgs(await signAsNode(f.operator, attested(scenario), f.adjudicator));
        expect(a.hints.length).to.equal(HINTS_LENGTH); // a valid signature needs only the recovery id
        const proving = provingHints(a);
        const y = BigInt(ethers.hexlify(proving.subarray(HINTS_LENGTH + 32)));
        for (const hints of [
          proving,
          withWordAt(proving, HINTS_LENGTH + 32, P - y),
          withWordAt(proving, HINTS_LENGTH, 1n),
          withWordAt(proving, HINTS_LENGTH + 32, 0n),
        ]) {
          expect(await f.adjudicator.evaluateCFrag.staticCall(...args({ ...a, hints }))).to.equal(Verdict.Correct);
        }
      }
    });

    it("random hint corruption of an honest cfrag reverts or judges Correct; of a cheat, reverts or judges the cheat", async function () {
      const f = await loadFixture(deployFixture);
      const s = ourScenario();
      const honest = buildEvaluationArgs(await signAsNode(f.operator, attested(s), f.adjudicator));
      const cheatMade = CHEATS["a wrong v1 under a proof that fits e1 and U1"].make(s);
      const cheat = buildEvaluationArgs(await signAsNode(f.operator, attested(s, cheatMade.cfrag), f.adjudicator));
      const forgedMade = CHEATS["a self-consistent proof for a forged rk′ with U1′ = rk′·U"].make(s);
      const forged = buildEvaluationArgs(await signAsNode(f.operator, attested(s, forgedMade.cfrag), f.adjudicator));
      const cases = [
        { a: honest, verdict: Verdict.Correct },
        { a: cheat, verdict: Verdict.VEquationFailed },
        { a: forged, verdict: Verdict.KFragSignatureInvalid }, // 481 bytes: the proof words are corrupted too
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: cases.length - 1 }),
          fc.integer({ min: 0, max: HINTS_LENGTH_PROVING - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async (which, position, flip) => {
            const { a, verdict: expected } = cases[which];
            const hints = a.hints.slice();
            hints[position % hints.length] ^= flip;
            let verdict: bigint;
            try {
              verdict = await f.adjudicator.evaluateCFrag.staticCall(...args({ ...a, hints }));
            } catch {
              return; // a lying hint reverts
            }
            expect(verdict).to.equal(BigInt(expected));
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe("penalty schedule", function () {
    it("grows by the history coefficient per offence and is capped by stake / percentage coefficient", async function () {
      const { adjudicator, operator, staker, reporter, escrow } = await loadFixture(deployFixture);
      const s = ourScenario();
      let stake = STAKE;
      const expected: bigint[] = [];
      for (let i = 0n; i < 3n; i++) {
        const { cfrag } = CHEATS["a random z"].make(s);
        const signed = await signAsNode(operator, attested(s, cfrag), adjudicator);
        let penalty = BASE_PENALTY + HISTORY_COEFFICIENT * i;
        const cap = stake / PERCENTAGE_COEFFICIENT;
        if (penalty > cap) penalty = cap;
        expect(await adjudicator.penaltyOf(staker.address)).to.deep.equal([penalty, penalty / REWARD_COEFFICIENT]);
        await expect(adjudicator.connect(reporter).evaluateCFrag(...args(buildEvaluationArgs(signed))))
          .to.emit(escrow, "MockSlashed")
          .withArgs(staker.address, penalty, reporter.address, penalty / REWARD_COEFFICIENT, penalty);
        expect(await adjudicator.offencesOf(staker.address)).to.equal(i + 1n);
        stake -= penalty;
        expected.push(penalty);
      }
      expect(await escrow.stakeOf(staker.address)).to.equal(stake);
      expect(await adjudicator.offencesOf(staker.address)).to.equal(3n);
      expect(expected).to.deep.equal([
        BASE_PENALTY,
        BASE_PENALTY + HISTORY_COEFFICIENT,
        BASE_PENALTY + 2n * HISTORY_COEFFICIENT,
      ]);

      // A small stake: the cap binds, the reporter's share is floored, the remainder goes to the reserve.
      await escrow.bond(operator.address, staker.address, 1_003n);
      const { cfrag } = CHEATS["a random z"].make(s);
      const signed = await signAsNode(operator, attested(s, cfrag), adjudicator);
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(buildEvaluationArgs(signed))))
        .to.emit(escrow, "MockSlashed")
        .withArgs(staker.address, 100n, reporter.address, 25n, 100n);
      expect(await adjudicator.offencesOf(staker.address)).to.equal(4n);
    });

    it("records the offence but calls no slash when the staker has nothing left", async function () {
      const { adjudicator, operator, staker, escrow } = await loadFixture(deployFixture);
      await escrow.bond(operator.address, staker.address, 0n);
      const s = ourScenario();
      const signed = await signAsNode(operator, attested(s, CHEATS["a random z"].make(s).cfrag), adjudicator);
      const digest = await digestOf(adjudicator, signed);
      await expect(adjudicator.evaluateCFrag(...args(buildEvaluationArgs(signed)))).not.to.emit(escrow, "MockSlashed");
      expect(await adjudicator.offencesOf(staker.address)).to.equal(1n);
      // Judged (the guard holds) but nothing to claim.
      expect(await adjudicator.isEvaluated(digest, staker.address)).to.equal(true);
      await expect(adjudicator.claimReward(digest, staker.address))
        .to.be.revertedWithCustomError(adjudicator, "NothingToClaim")
        .withArgs(digest, staker.address);
    });
  });

  it("only the adjudicator can slash through the escrow mock (sanity of the double)", async function () {
    const { escrow, staker, stranger } = await loadFixture(deployFixture);
    await expect(escrow.connect(stranger).slash(staker.address, 1, stranger.address, 0))
      .to.be.revertedWithCustomError(escrow, "MockNotAdjudicator")
      .withArgs(stranger.address);
  });
});
