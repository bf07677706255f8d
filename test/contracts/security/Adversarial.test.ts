// Adversarial scenarios on the system deployed by the Ignition module (escrow with its funded reserve, policy
// manager, adjudicator), each one a threat of docs/security.md that no other suite covers end to end: dodging a
// slash by re-bonding, caller-chosen signature recovery ids and zero-address recovery, non-canonical keys,
// self-reporting for the reward, and the flash stake.
import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import KMSModule, {
  DEFAULT_BASE_PENALTY,
  DEFAULT_MIN_LOCK_PERIODS,
  DEFAULT_MIN_OPERATOR_PERIODS,
  DEFAULT_MIN_STAKE,
  DEFAULT_PERIOD_DURATION,
  DEFAULT_REWARD_COEFFICIENT,
} from "../../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, StakingEscrow } from "../../../typechain-types";
import { buildEvaluationArgs, unpackEvidence, type EvaluationArgs } from "../../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode, type DomainSource } from "../slashing/helpers";

const P = 2n ** 256n - 2n ** 32n - 977n;
const KEYS_AT = 98 + 359;
const STAKE = DEFAULT_MIN_STAKE * 2n;

async function deployedFixture() {
  const [deployer, staker, operator, newOperator, reporter, other] = await ethers.getSigners();
  const deployed = await ignition.deploy(KMSModule);
  const token = deployed.token as unknown as KMSToken;
  const escrow = deployed.escrow as unknown as StakingEscrow;
  const adjudicator = deployed.adjudicator as unknown as Adjudicator;
  for (const who of [staker, other]) {
    await token.connect(deployer).transfer(who.address, STAKE * 2n);
    await token.connect(who).approve(await escrow.getAddress(), ethers.MaxUint256);
  }
  await escrow.connect(staker).depositAndLock(STAKE, DEFAULT_MIN_LOCK_PERIODS);
  await escrow.connect(staker).bondOperator(operator.address);
  await escrow.connect(operator).confirmOperator(staker.address);
  return { token, escrow, adjudicator, deployer, staker, operator, newOperator, reporter, other };
}

async function cheatBy(
  signer: Parameters<typeof signAsNode>[0],
  adjudicator: DomainSource,
  name = "a random z",
): Promise<EvaluationArgs> {
  const s = ourScenario();
  const { capsule, cfrag } = CHEATS[name].make(s);
  return buildEvaluationArgs(await signAsNode(signer, attested(s, cfrag, capsule), adjudicator));
}

async function nextPeriod(escrow: StakingEscrow, n = 1n): Promise<void> {
  await time.increaseTo(((await escrow.getCurrentPeriod()) + n) * DEFAULT_PERIOD_DURATION + 1n);
}

describe("security: adversarial scenarios on the deployed system", function () {
  describe("dodging a slash by re-bonding the operator", function () {
    it("evidence signed by the old key still slashes the staker after it moved to a new key", async function () {
      const { escrow, adjudicator, staker, operator, newOperator, reporter } = await loadFixture(deployedFixture);
      const evidence = await cheatBy(operator, adjudicator);
      await nextPeriod(escrow, DEFAULT_MIN_OPERATOR_PERIODS);
      await escrow.connect(staker).bondOperator(newOperator.address);
      await escrow.connect(newOperator).confirmOperator(staker.address);
      expect(await escrow.operatorOf(staker.address)).to.equal(newOperator.address);

      await expect(
        adjudicator.connect(reporter).evaluateCFrag(evidence.evidence, evidence.nodeSignature, evidence.hints),
      )
        .to.emit(escrow, "Slashed")
        .withArgs(
          staker.address,
          DEFAULT_BASE_PENALTY,
          reporter.address,
          DEFAULT_BASE_PENALTY / DEFAULT_REWARD_COEFFICIENT,
          1n,
        );
      expect(await escrow.stakeOf(staker.address)).to.equal(STAKE - DEFAULT_BASE_PENALTY);
    });

    it("the old key cannot be handed to a fresh staker to carry the blame elsewhere", async function () {
      const { escrow, staker, operator, newOperator, other } = await loadFixture(deployedFixture);
      await nextPeriod(escrow, DEFAULT_MIN_OPERATOR_PERIODS);
      await escrow.connect(staker).bondOperator(newOperator.address);
      await escrow.connect(other).depositAndLock(STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await expect(escrow.connect(other).bondOperator(operator.address))
        .to.be.revertedWithCustomError(escrow, "OperatorAlreadyBonded")
        .withArgs(operator.address, staker.address);
      expect(await escrow.stakerFromOperator(operator.address)).to.equal(staker.address);
    });

    it("a staker cannot swap keys while committed to a period the old key serves", async function () {
      const { escrow, staker, operator, newOperator } = await loadFixture(deployedFixture);
      await nextPeriod(escrow, DEFAULT_MIN_OPERATOR_PERIODS);
      await escrow.connect(operator).commitToNextPeriod();
      const next = (await escrow.getCurrentPeriod()) + 1n;
      await expect(escrow.connect(staker).bondOperator(newOperator.address))
        .to.be.revertedWithCustomError(escrow, "RebondWhileCommitted")
        .withArgs(next);
    });
  });

  describe("signature recovery", function () {
    it("a caller-flipped recovery id names another address, never the node, and slashes nobody", async function () {
      const { escrow, adjudicator, staker, operator } = await loadFixture(deployedFixture);
      const evidence = await cheatBy(operator, adjudicator);
      const flipped = evidence.nodeSignature.slice();
      flipped[64] = flipped[64] === 27 ? 28 : 27;
      const digest = await adjudicator.attestationDigest(evidence.evidence);
      const other = ethers.recoverAddress(digest, ethers.hexlify(flipped));
      expect(other).to.not.equal(operator.address);
      await expect(adjudicator.evaluateCFrag(evidence.evidence, flipped, evidence.hints))
        .to.be.revertedWithCustomError(adjudicator, "NotBondedOperator")
        .withArgs(other);
      expect(await escrow.stakeOf(staker.address)).to.equal(STAKE);
      expect(await adjudicator.isEvaluated(digest, staker.address)).to.equal(false);
    });

    it("a signature that recovers to the zero address is refused, so no unbonded zero operator can be blamed", async function () {
      const { adjudicator, operator } = await loadFixture(deployedFixture);
      const evidence = await cheatBy(operator, adjudicator);
      // r = 0 makes ecrecover fail (address 0); OpenZeppelin's ECDSA turns that into an error.
      const zeroR = ethers.getBytes(ethers.concat([ethers.ZeroHash, evidence.nodeSignature.subarray(32)]));
      await expect(adjudicator.evaluateCFrag(evidence.evidence, zeroR, evidence.hints)).to.be.revertedWithCustomError(
        adjudicator,
        "ECDSAInvalidSignature",
      );
    });
  });

  describe("non-canonical attested keys", function () {
    for (const [name, offset] of [
      ["delegating", 0],
      ["receiving", 33],
      ["verifying", 66],
    ] as const) {
      it(`rejects a ${name} key with an uncompressed prefix or x ≥ p, before any judgement`, async function () {
        const { adjudicator, operator, staker } = await loadFixture(deployedFixture);
        const good = await cheatBy(operator, adjudicator);
        const x = BigInt(ethers.hexlify(good.evidence.subarray(KEYS_AT + offset + 1, KEYS_AT + offset + 33)));
        const badPrefix = good.evidence.slice();
        badPrefix[KEYS_AT + offset] = 0x04;
        const xAboveP = good.evidence.slice();
        xAboveP.set(ethers.getBytes(ethers.toBeHex(P + 3n, 32)), KEYS_AT + offset + 1);
        for (const [evidence, prefix, value] of [
          [badPrefix, 4, x],
          [xAboveP, good.evidence[KEYS_AT + offset], P + 3n],
        ] as const) {
          const { nodeSignature: signature } = await signAsNode(operator, unpackEvidence(evidence), adjudicator);
          await expect(adjudicator.evaluateCFrag(evidence, signature, good.hints))
            .to.be.revertedWithCustomError(adjudicator, "NonCanonicalPoint")
            .withArgs(2, offset, prefix, value);
          expect(await adjudicator.isEvaluated(await adjudicator.attestationDigest(evidence), staker.address)).to.equal(
            false,
          );
        }
      });
    }
  });

  describe("slashing economics", function () {
    it("reporting one's own cheat loses money: the reward is a quarter of the penalty", async function () {
      const { token, escrow, adjudicator, staker, operator } = await loadFixture(deployedFixture);
      const evidence = await cheatBy(operator, adjudicator);
      const balance = await token.balanceOf(staker.address);
      await adjudicator.connect(staker).evaluateCFrag(evidence.evidence, evidence.nodeSignature, evidence.hints);
      await adjudicator
        .connect(staker)
        .claimReward(await adjudicator.attestationDigest(evidence.evidence), staker.address);
      const reward = DEFAULT_BASE_PENALTY / DEFAULT_REWARD_COEFFICIENT;
      expect(await token.balanceOf(staker.address)).to.equal(balance + reward);
      expect(await escrow.stakeOf(staker.address)).to.equal(STAKE - DEFAULT_BASE_PENALTY);
      // Net: the staker is poorer by penalty − reward; the rest went back to the mining reserve.
      expect(
        balance + STAKE - (await token.balanceOf(staker.address)) - (await escrow.stakeOf(staker.address)),
      ).to.equal(DEFAULT_BASE_PENALTY - reward);
    });
  });

  describe("flash stake", function () {
    it("a stake made and committed within one period earns nothing for it and cannot leave", async function () {
      const { escrow, other, newOperator } = await loadFixture(deployedFixture);
      await escrow.connect(other).depositAndLock(STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await escrow.connect(other).bondOperator(newOperator.address);
      await escrow.connect(newOperator).confirmOperator(other.address);
      await escrow.connect(newOperator).commitToNextPeriod();
      const committed = (await escrow.getCurrentPeriod()) + 1n;
      // The whole deposit is locked for the minimum lock: it cannot be pulled out in the same breath.
      await expect(escrow.connect(other).withdraw(1n))
        .to.be.revertedWithCustomError(escrow, "InsufficientUnlocked")
        .withArgs(1n, 0n);
      // Nothing is earned for the current period nor for the committed one until it is over.
      expect(await escrow.pendingReward(other.address)).to.equal(0n);
      await nextPeriod(escrow);
      expect(await escrow.pendingReward(other.address)).to.equal(0n);
      await nextPeriod(escrow);
      const issuance = await escrow.issuanceOf(committed);
      const locked = await escrow.lockedPerPeriod(committed);
      expect(locked).to.equal(STAKE);
      expect(await escrow.pendingReward(other.address)).to.equal((STAKE * issuance) / locked);
    });
  });
});
