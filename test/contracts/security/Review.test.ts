// The findings of the 2026 contract review (issue 12), each reproduced as an attack on the system deployed by
// the Ignition module and shown to fail: squatting on a cheat's evidence with a spare operator key, a policy
// ending when its node's lock ends, operator capture by an unasked bond, attestations valid in every deployment,
// unstaked nodes announcing, and signed evidence whose points are not curve points.
import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import KMSModule, {
  DEFAULT_BASE_PENALTY,
  DEFAULT_MIN_FEE_RATE,
  DEFAULT_MIN_LOCK_PERIODS,
  DEFAULT_MIN_OPERATOR_PERIODS,
  DEFAULT_MIN_STAKE,
  DEFAULT_PERIOD_DURATION,
} from "../../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../../typechain-types";
import { buildEvaluationArgs, packEvidence, unpackEvidence, Verdict, type EvaluationArgs } from "../../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../slashing/helpers";

const STAKE = DEFAULT_MIN_STAKE * 4n;
const KEY = "0x02" + "11".repeat(32);

async function deploy() {
  const deployed = await ignition.deploy(KMSModule);
  return {
    token: deployed.token as unknown as KMSToken,
    escrow: deployed.escrow as unknown as StakingEscrow,
    adjudicator: deployed.adjudicator as unknown as Adjudicator,
    policyManager: deployed.policyManager as unknown as PolicyManager,
    nodeDirectory: deployed.nodeDirectory as unknown as NodeDirectory,
  };
}

async function reviewFixture() {
  const [deployer, staker, operator, spareStaker, spareKey, reporter, victim, attacker, alice] =
    await ethers.getSigners();
  const system = await deploy();
  const { token, escrow, policyManager } = system;
  for (const who of [staker, spareStaker, victim, attacker, alice]) {
    await token.connect(deployer).transfer(who.address, STAKE);
    await token.connect(who).approve(await escrow.getAddress(), ethers.MaxUint256);
  }
  await token.connect(alice).approve(await policyManager.getAddress(), ethers.MaxUint256);
  await escrow.connect(staker).depositAndLock(STAKE, DEFAULT_MIN_LOCK_PERIODS);
  await escrow.connect(staker).bondOperator(operator.address);
  await escrow.connect(operator).confirmOperator(staker.address);
  return { ...system, deployer, staker, operator, spareStaker, spareKey, reporter, victim, attacker, alice };
}

async function nextPeriod(escrow: StakingEscrow, n = 1n): Promise<void> {
  await time.increaseTo(((await escrow.getCurrentPeriod()) + n) * DEFAULT_PERIOD_DURATION + 1n);
}

function args(a: EvaluationArgs): [Uint8Array, Uint8Array, Uint8Array] {
  return [a.evidence, a.nodeSignature, a.hints];
}

/** A cheat's bytes, as the real node served them, and the same bytes signed by `by`. */
async function cheatSignedBy(adjudicator: Adjudicator, by: HardhatEthersSigner, name = "a random z") {
  const s = ourScenario();
  const { capsule, cfrag } = CHEATS[name].make(s);
  return buildEvaluationArgs(await signAsNode(by, attested(s, cfrag, capsule), adjudicator));
}

describe("security review (issue 12) on the deployed system", function () {
  describe("finding 1: squatting on a cheat's evidence with a spare operator key", function () {
    /** A throw-away staker that locked the minimum once, waited for the lock to end and withdrew everything. */
    async function spareKeyWithNoStake(f: Awaited<ReturnType<typeof reviewFixture>>) {
      const { escrow, spareStaker, spareKey } = f;
      await escrow.connect(spareStaker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await escrow.connect(spareStaker).bondOperator(spareKey.address);
      await escrow.connect(spareKey).confirmOperator(spareStaker.address);
      await nextPeriod(escrow, DEFAULT_MIN_LOCK_PERIODS + 1n);
      await escrow.connect(spareStaker).withdraw(await escrow.stakeOf(spareStaker.address));
      expect(await escrow.stakeOf(spareStaker.address)).to.equal(0n);
      // The operator→staker map is permanent: the key still maps to the empty staker.
      expect(await escrow.stakerFromOperator(spareKey.address)).to.equal(spareStaker.address);
    }

    it("a squatter's earlier submission no longer shields the node that signed the cheat", async function () {
      const f = await loadFixture(reviewFixture);
      const { escrow, adjudicator, staker, operator, spareStaker, spareKey, reporter } = f;
      await spareKeyWithNoStake(f);
      const real = await cheatSignedBy(adjudicator, operator);
      // The cheater signs the very same bytes with its spare key and submits them first (or front-runs Bob).
      const squat = {
        ...real,
        nodeSignature: (await signAsNode(spareKey, unpackEvidence(real.evidence), adjudicator)).nodeSignature,
      };
      await expect(adjudicator.connect(spareKey).evaluateCFrag(...args(squat)))
        .to.emit(escrow, "OffenceRecorded")
        .withArgs(spareStaker.address, 1n);
      // Bob's report, by the real operator's signature, still slashes the real stake.
      const stake = await escrow.stakeOf(staker.address);
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(real)))
        .to.emit(escrow, "Slashed")
        .withArgs(staker.address, DEFAULT_BASE_PENALTY, reporter.address, DEFAULT_BASE_PENALTY / 4n, 1n);
      expect(await escrow.stakeOf(staker.address)).to.equal(stake - DEFAULT_BASE_PENALTY);
      // And only once: the same attested cfrag cannot punish the same node twice.
      const digest = await adjudicator.attestationDigest(real.evidence);
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(real)))
        .to.be.revertedWithCustomError(adjudicator, "EvidenceAlreadyEvaluated")
        .withArgs(digest, staker.address);
      expect(await adjudicator.isEvaluated(digest, staker.address)).to.equal(true);
      expect(await adjudicator.isEvaluated(digest, spareStaker.address)).to.equal(true);
    });

    it("one cfrag signed by the node's old and new operator keys punishes the node once", async function () {
      const { escrow, adjudicator, staker, operator, spareKey, reporter } = await loadFixture(reviewFixture);
      const byOld = await cheatSignedBy(adjudicator, operator);
      await nextPeriod(escrow, DEFAULT_MIN_OPERATOR_PERIODS);
      await escrow.connect(staker).bondOperator(spareKey.address);
      await escrow.connect(spareKey).confirmOperator(staker.address);
      const byNew = {
        ...byOld,
        nodeSignature: (await signAsNode(spareKey, unpackEvidence(byOld.evidence), adjudicator)).nodeSignature,
      };
      await adjudicator.connect(reporter).evaluateCFrag(...args(byNew));
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(byOld)))
        .to.be.revertedWithCustomError(adjudicator, "EvidenceAlreadyEvaluated")
        .withArgs(await adjudicator.attestationDigest(byOld.evidence), staker.address);
      expect(await adjudicator.offencesOf(staker.address)).to.equal(1n);
    });
  });

  describe("finding 2: a node's lock must outlast the policy by the accountability window", function () {
    async function lockEndingAt(f: Awaited<ReturnType<typeof reviewFixture>>, endPeriod: bigint) {
      const { escrow, victim, attacker } = f;
      const current = await escrow.getCurrentPeriod();
      await escrow.connect(victim).depositAndLock(DEFAULT_MIN_STAKE, endPeriod - current);
      await escrow.connect(victim).bondOperator(attacker.address);
      await escrow.connect(attacker).confirmOperator(victim.address);
      expect((await escrow.getLock(victim.address)).unlockPeriod).to.equal(endPeriod);
    }

    it("refuses a node whose lock ends with the policy, and accepts one whose lock covers end + window", async function () {
      const f = await loadFixture(reviewFixture);
      const { escrow, policyManager, victim, alice } = f;
      const end = (await escrow.getCurrentPeriod()) + DEFAULT_MIN_LOCK_PERIODS + 10n;
      await lockEndingAt(f, end);
      const id = ethers.hexlify(ethers.randomBytes(16));
      await expect(
        policyManager.connect(alice).createPolicy(id, alice.address, [victim.address], end, DEFAULT_MIN_FEE_RATE),
      )
        .to.be.revertedWithCustomError(policyManager, "NodeNotLocked")
        .withArgs(victim.address, DEFAULT_MIN_STAKE, end, end + DEFAULT_MIN_OPERATOR_PERIODS);
      const latest = end - DEFAULT_MIN_OPERATOR_PERIODS;
      await expect(
        policyManager
          .connect(alice)
          .createPolicy(id, alice.address, [victim.address], latest + 1n, DEFAULT_MIN_FEE_RATE),
      ).to.be.revertedWithCustomError(policyManager, "NodeNotLocked");
      await expect(
        policyManager.connect(alice).createPolicy(id, alice.address, [victim.address], latest, DEFAULT_MIN_FEE_RATE),
      ).to.emit(policyManager, "PolicyCreated");
    });
  });

  describe("finding 3: operator capture needs the operator's consent", function () {
    it("an unasked bond neither counts nor blocks the address from staking", async function () {
      const { escrow, nodeDirectory, adjudicator, victim, attacker, spareStaker } = await loadFixture(reviewFixture);
      // The attacker, with a minimum stake, bonds the victim's fresh address before the victim stakes.
      await escrow.connect(attacker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await expect(escrow.connect(attacker).bondOperator(victim.address))
        .to.emit(escrow, "OperatorBonded")
        .and.not.to.emit(escrow, "OperatorConfirmed");
      expect(await escrow.stakerFromOperator(victim.address)).to.equal(ethers.ZeroAddress);
      expect(await escrow.operatorOf(attacker.address)).to.equal(ethers.ZeroAddress);
      expect(await escrow.pendingOperatorOf(attacker.address)).to.equal(victim.address);
      expect((await escrow.getStakerInfo(attacker.address)).operatorConfirmed).to.equal(false);
      // It counts for nothing: no commitment, no announcement, no evidence under it.
      await expect(escrow.connect(victim).commitToNextPeriod())
        .to.be.revertedWithCustomError(escrow, "NotOperator")
        .withArgs(victim.address);
      await expect(nodeDirectory.connect(victim).announce("http://127.0.0.1:9151", KEY))
        .to.be.revertedWithCustomError(nodeDirectory, "NodeDirectoryNotAnOperator")
        .withArgs(victim.address);
      const evidence = await cheatSignedBy(adjudicator, victim);
      await expect(adjudicator.evaluateCFrag(...args(evidence)))
        .to.be.revertedWithCustomError(adjudicator, "NotBondedOperator")
        .withArgs(victim.address);
      // And it blocks nothing: another staker may propose the address too, and the victim stakes as it planned.
      await escrow.connect(spareStaker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await expect(escrow.connect(spareStaker).bondOperator(victim.address)).to.emit(escrow, "OperatorBonded");
      await expect(escrow.connect(victim).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS)).to.emit(
        escrow,
        "Locked",
      );
      // Now a staker, the victim can never be confirmed as anyone's operator.
      await expect(escrow.connect(victim).confirmOperator(attacker.address))
        .to.be.revertedWithCustomError(escrow, "OperatorIsStaker")
        .withArgs(victim.address);
    });

    it("confirmation: only the proposed key, once, for one staker; an unconfirmed proposal may be replaced at once", async function () {
      const { escrow, victim, attacker, spareStaker, spareKey } = await loadFixture(reviewFixture);
      await escrow.connect(attacker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await escrow.connect(spareStaker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
      await escrow.connect(attacker).bondOperator(spareKey.address);
      await escrow.connect(spareStaker).bondOperator(spareKey.address);
      await expect(escrow.connect(victim).confirmOperator(attacker.address))
        .to.be.revertedWithCustomError(escrow, "NotProposedOperator")
        .withArgs(victim.address, attacker.address);
      await expect(escrow.connect(spareKey).confirmOperator(spareStaker.address))
        .to.emit(escrow, "OperatorConfirmed")
        .withArgs(spareStaker.address, spareKey.address, await escrow.getCurrentPeriod());
      await expect(escrow.connect(spareKey).confirmOperator(spareStaker.address))
        .to.be.revertedWithCustomError(escrow, "OperatorAlreadyConfirmed")
        .withArgs(spareKey.address, spareStaker.address);
      // The key serves one staker for ever: the other proposal can no longer be accepted.
      await expect(escrow.connect(spareKey).confirmOperator(attacker.address))
        .to.be.revertedWithCustomError(escrow, "OperatorAlreadyBonded")
        .withArgs(spareKey.address, spareStaker.address);
      // A proposal nobody confirmed served nothing: replacing it at once is no operator hop.
      await expect(escrow.connect(attacker).bondOperator(victim.address)).to.emit(escrow, "OperatorBonded");
      // A confirmed one is held for the re-bond delay as before.
      await expect(escrow.connect(spareStaker).bondOperator(victim.address)).to.be.revertedWithCustomError(
        escrow,
        "RebondTooSoon",
      );
    });
  });

  describe("finding 4: attestations are bound to one deployment", function () {
    it("a cheat signed for another deployment slashes nothing here, and the digest is EIP-712 in this domain", async function () {
      const { escrow, adjudicator, staker, operator, reporter } = await loadFixture(reviewFixture);
      // A second deployment on the same chain (a test system, say) where the same operator key cheats.
      const other = await deploy();
      const signedThere = await cheatSignedBy(other.adjudicator, operator);
      const domain = await adjudicator.eip712Domain();
      expect(domain.name).to.equal("umbral-kms Adjudicator");
      expect(domain.verifyingContract).to.equal(await adjudicator.getAddress());
      const here = await adjudicator.attestationDigest(signedThere.evidence);
      const recovered = ethers.recoverAddress(here, ethers.hexlify(signedThere.nodeSignature));
      expect(recovered).to.not.equal(operator.address);
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(signedThere)))
        .to.be.revertedWithCustomError(adjudicator, "NotBondedOperator")
        .withArgs(recovered);
      expect(await escrow.stakeOf(staker.address)).to.equal(STAKE);
      // The same cfrag signed for this deployment is judged here.
      const signedHere = await cheatSignedBy(adjudicator, operator);
      await expect(adjudicator.connect(reporter).evaluateCFrag(...args(signedHere)))
        .to.emit(adjudicator, "CFragEvaluated")
        .withArgs(
          await adjudicator.attestationDigest(signedHere.evidence),
          staker.address,
          reporter.address,
          operator.address,
          Verdict.EEquationFailed,
        );
    });
  });

  describe("finding 5: only staked nodes announce", function () {
    it("a fully withdrawn staker's operator cannot announce", async function () {
      const { escrow, nodeDirectory, staker, operator } = await loadFixture(reviewFixture);
      await expect(nodeDirectory.connect(operator).announce("http://127.0.0.1:9151", KEY)).to.emit(
        nodeDirectory,
        "NodeAnnounced",
      );
      await nextPeriod(escrow, DEFAULT_MIN_LOCK_PERIODS + 1n);
      await escrow.connect(staker).withdraw(await escrow.stakeOf(staker.address));
      const [lockedValue, unlockPeriod] = await escrow.getLock(staker.address);
      await expect(nodeDirectory.connect(operator).announce("http://127.0.0.1:9152", KEY))
        .to.be.revertedWithCustomError(nodeDirectory, "NodeDirectoryNotStaked")
        .withArgs(staker.address, lockedValue, unlockPeriod, await escrow.getCurrentPeriod());
    });
  });

  describe("finding 6: signed bytes that are not curve points are never judged", function () {
    // x = 0: 0³ + 7 = 7 is not a square mod p, so no point has it.
    const OFF_CURVE_X = new Uint8Array(32);
    for (const [name, offset] of [
      ["the precursor P", 98 + 98],
      ["the delegating key", 98 + 359],
      ["the receiving key", 98 + 359 + 33],
      ["the verifying key", 98 + 359 + 66],
    ] as const) {
      it(`${name} off the curve reverts PointNotOnCurve and records nothing`, async function () {
        const { escrow, adjudicator, staker, operator, reporter } = await loadFixture(reviewFixture);
        const good = await cheatSignedBy(adjudicator, operator);
        const evidence = good.evidence.slice();
        evidence[offset] = 0x02;
        evidence.set(OFF_CURVE_X, offset + 1);
        const signed = await signAsNode(operator, unpackEvidence(evidence), adjudicator);
        await expect(
          adjudicator.connect(reporter).evaluateCFrag(packEvidence(signed), signed.nodeSignature, good.hints),
        )
          .to.be.revertedWithCustomError(adjudicator, "PointNotOnCurve")
          .withArgs(0n);
        expect(await adjudicator.isEvaluated(await adjudicator.attestationDigest(evidence), staker.address)).to.equal(
          false,
        );
        expect(await escrow.stakeOf(staker.address)).to.equal(STAKE);
      });
    }

    for (const [name, offset] of [
      ["E", 0],
      ["V", 33],
      ["e1", 98],
      ["v1", 98 + 33],
      ["e2", 98 + 131],
      ["v2", 98 + 164],
      ["U1", 98 + 197],
      ["u2", 98 + 230],
    ] as const) {
      it(`${name} off the curve reverts (the point, or the hints that no longer fit it) and records nothing`, async function () {
        const { escrow, adjudicator, staker, operator, reporter } = await loadFixture(reviewFixture);
        const good = await cheatSignedBy(adjudicator, operator);
        const evidence = good.evidence.slice();
        evidence[offset] = 0x02;
        evidence.set(OFF_CURVE_X, offset + 1);
        const signed = await signAsNode(operator, unpackEvidence(evidence), adjudicator);
        const error = await adjudicator
          .connect(reporter)
          .evaluateCFrag.staticCall(packEvidence(signed), signed.nodeSignature, good.hints)
          .then(
            () => undefined,
            (e: { data?: string }) => adjudicator.interface.parseError(e.data ?? "0x")?.name,
          );
        expect(["PointNotOnCurve", "WrongProductHint", "WrongSlopeHint"]).to.include(error);
        await expect(
          adjudicator.connect(reporter).evaluateCFrag(packEvidence(signed), signed.nodeSignature, good.hints),
        ).to.be.reverted;
        expect(await adjudicator.isEvaluated(await adjudicator.attestationDigest(evidence), staker.address)).to.equal(
          false,
        );
        expect(await escrow.stakeOf(staker.address)).to.equal(STAKE);
      });
    }
  });
});
