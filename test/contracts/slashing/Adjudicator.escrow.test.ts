// Adjudicator wired to the real StakingEscrow, both deployed by the Ignition module: penalties leave the
// stake and are held by the escrow; the claim pays the reporter's share in tokens and returns the rest to the
// mining reserve.
import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import KMSModule, {
  DEFAULT_BASE_PENALTY,
  DEFAULT_MIN_LOCK_PERIODS,
  DEFAULT_MIN_STAKE,
  DEFAULT_REWARD_COEFFICIENT,
} from "../../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, StakingEscrow } from "../../../typechain-types";
import { buildEvaluationArgs, packEvidence, Verdict } from "../../../src/slashing";
import { CHEATS, attested, ourScenario, preScenario, signAsNode } from "./helpers";

async function deployedFixture() {
  const [deployer, staker, operator, reporter, stranger] = await ethers.getSigners();
  const deployed = await ignition.deploy(KMSModule);
  const token = deployed.token as unknown as KMSToken;
  const escrow = deployed.escrow as unknown as StakingEscrow;
  const adjudicator = deployed.adjudicator as unknown as Adjudicator;
  const stake = DEFAULT_MIN_STAKE * 2n;
  await token.connect(deployer).transfer(staker.address, stake);
  await token.connect(staker).approve(await escrow.getAddress(), stake);
  await escrow.connect(staker).depositAndLock(stake, DEFAULT_MIN_LOCK_PERIODS);
  await escrow.connect(staker).bondOperator(operator.address);
  await escrow.connect(operator).confirmOperator(staker.address);
  return { token, escrow, adjudicator, staker, operator, reporter, stranger, stake };
}

describe("Adjudicator with the StakingEscrow (Ignition deployment)", function () {
  it("is the escrow's adjudicator and maps the operator to its staker", async function () {
    const { escrow, adjudicator, staker, operator } = await loadFixture(deployedFixture);
    expect(await escrow.adjudicator()).to.equal(await adjudicator.getAddress());
    expect(await adjudicator.escrow()).to.equal(await escrow.getAddress());
    expect(await escrow.stakerFromOperator(operator.address)).to.equal(staker.address);
  });

  it("leaves an honest node's stake alone", async function () {
    const { escrow, adjudicator, staker, operator, reporter, stake } = await loadFixture(deployedFixture);
    const signed = await signAsNode(operator, attested(preScenario()), adjudicator);
    const a = buildEvaluationArgs(signed);
    await expect(adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints))
      .to.emit(adjudicator, "CFragEvaluated")
      .withArgs(
        await adjudicator.attestationDigest(packEvidence(signed)),
        staker.address,
        reporter.address,
        operator.address,
        Verdict.Correct,
      )
      .and.not.to.emit(escrow, "Slashed");
    expect(await escrow.stakeOf(staker.address)).to.equal(stake);
  });

  it("slashes a cheat: stake down by the penalty, held until the claim pays the reporter and the reserve", async function () {
    const { token, escrow, adjudicator, staker, operator, reporter, stranger, stake } =
      await loadFixture(deployedFixture);
    const s = ourScenario();
    const { cfrag } = CHEATS["a self-consistent proof for a forged rk′ with U1′ = rk′·U"].make(s);
    const signed = await signAsNode(operator, attested(s, cfrag), adjudicator);
    const a = buildEvaluationArgs(signed);
    const digest = await adjudicator.attestationDigest(packEvidence(signed));
    const penalty = DEFAULT_BASE_PENALTY; // below stake / 10
    const reward = penalty / DEFAULT_REWARD_COEFFICIENT;
    const reserveBefore = await escrow.unallocatedReserve();
    const balanceBefore = await token.balanceOf(await escrow.getAddress());
    await expect(adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints))
      .to.emit(escrow, "Slashed")
      .withArgs(staker.address, penalty, reporter.address, reward, 1n)
      .and.not.to.emit(token, "Transfer");
    expect(await escrow.stakeOf(staker.address)).to.equal(stake - penalty);
    expect(await escrow.heldPenalties()).to.equal(penalty);
    expect(await escrow.unallocatedReserve()).to.equal(reserveBefore);
    expect(await token.balanceOf(await escrow.getAddress())).to.equal(balanceBefore);

    // Only the adjudicator settles; anyone may claim through it, the reporter is paid.
    await expect(escrow.connect(stranger).settlePenalty(stranger.address, penalty, reward))
      .to.be.revertedWithCustomError(escrow, "NotAdjudicator")
      .withArgs(stranger.address);
    await expect(adjudicator.connect(stranger).claimReward(digest, staker.address))
      .to.emit(escrow, "PenaltySettled")
      .withArgs(reporter.address, penalty, reward)
      .and.to.emit(token, "Transfer")
      .withArgs(await escrow.getAddress(), reporter.address, reward);
    expect(await token.balanceOf(reporter.address)).to.equal(reward);
    expect(await escrow.heldPenalties()).to.equal(0n);
    expect(await escrow.unallocatedReserve()).to.equal(reserveBefore + penalty - reward);
    await expect(adjudicator.connect(reporter).claimReward(digest, staker.address))
      .to.be.revertedWithCustomError(adjudicator, "NothingToClaim")
      .withArgs(digest, staker.address);
  });

  it("refuses a cfrag signed by an address that was never bonded", async function () {
    const { adjudicator, stranger } = await loadFixture(deployedFixture);
    const a = buildEvaluationArgs(await signAsNode(stranger, attested(ourScenario()), adjudicator));
    await expect(adjudicator.evaluateCFrag(a.evidence, a.nodeSignature, a.hints))
      .to.be.revertedWithCustomError(adjudicator, "NotBondedOperator")
      .withArgs(stranger.address);
  });
});
