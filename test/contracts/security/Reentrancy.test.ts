// Re-entrancy through a hostile token: the whole system deployed on ReentrantToken, an ERC-777-style token that
// calls back into the sender and the receiver of every transfer, with MaliciousReceiver as the attacking staker,
// node, policy owner or reporter. Every function that sends tokens out must refuse a nested call
// (ReentrancyGuardReentrantCall), and the ones without a guard (deposit, createPolicy) must stay consistent when
// re-entered, because they write their state before the token moves.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { BaseContract } from "ethers";
import type {
  Adjudicator,
  MaliciousReceiver,
  PolicyManager,
  ReentrantToken,
  StakingEscrow,
} from "../../../typechain-types";
import { buildEvaluationArgs } from "../../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../slashing/helpers";

const DAY = 86_400n;
const SUPPLY = 10n ** 27n;
const RESERVE = 10n ** 26n;
const MIN_STAKE = 1_000n * 10n ** 18n;
const MAX_STAKE = 1_000_000n * 10n ** 18n;
const MIN_LOCK = 5n;
const MIN_OPERATOR_PERIODS = 3n;
const ISSUANCE_RATE = 949_066_037_374_331n;
const RATE = 10n ** 15n; // fee per node per period
const BASE_PENALTY = 100n * 10n ** 18n;

function kms(n: bigint): bigint {
  return n * 10n ** 18n;
}

function pid(n: number): string {
  return ethers.zeroPadValue(ethers.toBeHex(n), 16);
}

/** The custom-error revert data `contract` would produce for `name(args)`. */
function errorData(contract: BaseContract, name: string, args: unknown[] = []): string {
  return contract.interface.encodeErrorResult(name, args);
}

async function deploySystem() {
  const [deployer, alice, aliceOp, attackerOp, owner] = await ethers.getSigners();
  const token = (await ethers.deployContract("ReentrantToken", [
    deployer.address,
    SUPPLY,
  ])) as unknown as ReentrantToken;
  const escrow = (await ethers.deployContract("StakingEscrow", [
    token,
    DAY,
    MIN_STAKE,
    MAX_STAKE,
    MIN_LOCK,
    MIN_OPERATOR_PERIODS,
    ISSUANCE_RATE,
    deployer.address,
  ])) as unknown as StakingEscrow;
  await token.approve(escrow, RESERVE);
  await escrow.fundReserve(RESERVE);
  const pm = (await ethers.deployContract("PolicyManager", [
    escrow,
    deployer.address,
    10n ** 9n,
    10n ** 21n,
  ])) as unknown as PolicyManager;
  await escrow.setPolicyManager(pm);
  const adjudicator = (await ethers.deployContract("Adjudicator", [
    escrow,
    BASE_PENALTY,
    50n * 10n ** 18n,
    10n,
    4n,
  ])) as unknown as Adjudicator;
  await escrow.setAdjudicator(adjudicator);
  const attacker = (await ethers.deployContract("MaliciousReceiver")) as unknown as MaliciousReceiver;
  await attacker.hook(token);
  await token.transfer(attacker, kms(100_000n));
  await token.transfer(alice.address, kms(100_000n));
  await token.connect(alice).approve(escrow, ethers.MaxUint256);
  await token.connect(alice).approve(pm, ethers.MaxUint256);
  // Start at the beginning of a period so a test's few transactions stay in one period.
  await time.increaseTo((BigInt(await time.latest()) / DAY + 1n) * DAY + 10n);
  return { token, escrow, pm, adjudicator, attacker, deployer, alice, aliceOp, attackerOp, owner };
}

type System = Awaited<ReturnType<typeof deploySystem>>;

/** The attacker, through `execute`, approves and deposit-locks `value` and bonds `operator`. */
async function stakeAsAttacker(s: System, value: bigint, operator?: string): Promise<void> {
  const { token, escrow, attacker } = s;
  await attacker.execute(token, token.interface.encodeFunctionData("approve", [await escrow.getAddress(), value]));
  await attacker.execute(escrow, escrow.interface.encodeFunctionData("depositAndLock", [value, 20n]));
  if (operator) {
    await attacker.execute(escrow, escrow.interface.encodeFunctionData("bondOperator", [operator]));
    const signer = await ethers.getSigner(operator);
    await escrow.connect(signer).confirmOperator(await attacker.getAddress());
  }
}

async function aliceStaked(s: System): Promise<void> {
  await s.escrow.connect(s.alice).depositAndLock(kms(10_000n), 20n);
  await s.escrow.connect(s.alice).bondOperator(s.aliceOp.address);
  await s.escrow.connect(s.aliceOp).confirmOperator(s.alice.address);
}

/** Calldata of Alice's node's cheat `name` judged by the Adjudicator, its claim, and the attested digest. */
async function aliceCheat(
  s: System,
  name = "a random z",
): Promise<{ evaluate: string; claim: string; digest: string }> {
  const scenario = ourScenario();
  const cheat = CHEATS[name].make(scenario);
  const a = buildEvaluationArgs(
    await signAsNode(s.aliceOp, attested(scenario, cheat.cfrag, cheat.capsule), s.adjudicator),
  );
  const digest = await s.adjudicator.attestationDigest(a.evidence);
  return {
    evaluate: s.adjudicator.interface.encodeFunctionData("evaluateCFrag", [a.evidence, a.nodeSignature, a.hints]),
    claim: s.adjudicator.interface.encodeFunctionData("claimReward", [digest, s.alice.address]),
    digest,
  };
}

describe("security: re-entrancy through an ERC-777-style token", function () {
  describe("StakingEscrow", function () {
    it("withdraw: a re-entrant withdraw from the receive hook is refused and the stake leaves once", async function () {
      const s = await loadFixture(deploySystem);
      const { token, escrow, attacker } = s;
      await attacker.execute(
        token,
        token.interface.encodeFunctionData("approve", [await escrow.getAddress(), kms(10n)]),
      );
      await attacker.execute(escrow, escrow.interface.encodeFunctionData("deposit", [kms(10n)]));
      await attacker.arm(escrow, escrow.interface.encodeFunctionData("withdraw", [kms(4n)]), false);
      const balance = await token.balanceOf(attacker);

      await expect(attacker.execute(escrow, escrow.interface.encodeFunctionData("withdraw", [kms(4n)])))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(escrow, "ReentrancyGuardReentrantCall"));
      expect(await escrow.stakeOf(attacker)).to.equal(kms(6n));
      expect(await token.balanceOf(attacker)).to.equal(balance + kms(4n));
      expect(await token.balanceOf(escrow)).to.equal(RESERVE + kms(6n));
    });

    it("deposit: a deposit re-entered from the pull hook is counted exactly once per transfer", async function () {
      const s = await loadFixture(deploySystem);
      const { token, escrow, attacker } = s;
      await attacker.execute(
        token,
        token.interface.encodeFunctionData("approve", [await escrow.getAddress(), kms(15n)]),
      );
      await attacker.arm(escrow, escrow.interface.encodeFunctionData("deposit", [kms(5n)]), true);

      await expect(attacker.execute(escrow, escrow.interface.encodeFunctionData("deposit", [kms(10n)])))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(true, "0x");
      // Stake is written before the pull, so the nested deposit adds to it and both transfers arrived.
      expect(await escrow.stakeOf(attacker)).to.equal(kms(15n));
      expect(await token.balanceOf(escrow)).to.equal(RESERVE + kms(15n));
    });

    it("claimReward: the reporter's hook cannot re-enter the escrow or the Adjudicator while its reward is paid", async function () {
      const s = await loadFixture(deploySystem);
      const { escrow, adjudicator, attacker, alice, token } = s;
      await aliceStaked(s);
      const { evaluate, claim } = await aliceCheat(s);
      const reward = BASE_PENALTY / 4n;
      // The verdict moves no tokens: the hook never runs.
      await attacker.arm(escrow, escrow.interface.encodeFunctionData("withdraw", [1n]), false);
      await expect(attacker.execute(adjudicator, evaluate))
        .to.emit(escrow, "Slashed")
        .withArgs(alice.address, BASE_PENALTY, await attacker.getAddress(), reward, 1n)
        .and.not.to.emit(attacker, "ReentryAttempted");

      await expect(attacker.execute(adjudicator, claim))
        .to.emit(escrow, "PenaltySettled")
        .and.to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(escrow, "ReentrancyGuardReentrantCall"));
      expect(await escrow.stakeOf(alice.address)).to.equal(kms(10_000n) - BASE_PENALTY);
      expect(await token.balanceOf(attacker)).to.equal(kms(100_000n) + reward);
      expect(await escrow.heldPenalties()).to.equal(0n);
    });

    it("claimReward: a second claim from inside the payout is refused and pays nothing", async function () {
      const s = await loadFixture(deploySystem);
      const { escrow, adjudicator, attacker, token } = s;
      await aliceStaked(s);
      const { evaluate, claim } = await aliceCheat(s);
      await attacker.execute(adjudicator, evaluate);
      await attacker.arm(adjudicator, claim, false);
      await expect(attacker.execute(adjudicator, claim))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(adjudicator, "ReentrancyGuardReentrantCall"));
      expect(await token.balanceOf(attacker)).to.equal(kms(100_000n) + BASE_PENALTY / 4n);
      expect(await escrow.heldPenalties()).to.equal(0n);
    });

    it("slash: the reporter cannot judge the same evidence again from inside its claimed payout", async function () {
      const s = await loadFixture(deploySystem);
      const { escrow, adjudicator, attacker, alice } = s;
      await aliceStaked(s);
      const { evaluate, claim, digest } = await aliceCheat(s);
      await attacker.execute(adjudicator, evaluate);
      await attacker.arm(adjudicator, evaluate, false);

      await expect(attacker.execute(adjudicator, claim))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(adjudicator, "EvidenceAlreadyEvaluated", [digest, alice.address]));
      expect(await adjudicator.offencesOf(alice.address)).to.equal(1n);
      expect(await escrow.stakeOf(alice.address)).to.equal(kms(10_000n) - BASE_PENALTY);
    });

    it("slash: a second cheat judged from inside a reward's payout cannot slash while the escrow is locked", async function () {
      const s = await loadFixture(deploySystem);
      const { escrow, adjudicator, attacker, alice } = s;
      await aliceStaked(s);
      const first = await aliceCheat(s);
      const second = await aliceCheat(s, "a random e1 pasted into an honest cfrag");
      await attacker.execute(adjudicator, first.evaluate);
      await attacker.arm(adjudicator, second.evaluate, false);

      await expect(attacker.execute(adjudicator, first.claim))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(escrow, "ReentrancyGuardReentrantCall"));
      // The nested judgement reverted as a whole: one offence, one penalty.
      expect(await adjudicator.offencesOf(alice.address)).to.equal(1n);
      expect(await escrow.stakeOf(alice.address)).to.equal(kms(10_000n) - BASE_PENALTY);
    });
  });

  describe("PolicyManager", function () {
    /** Alice's policy over the attacker's node, the attacker's operator committed: fees withdrawable next period. */
    async function attackerEarningFees(s: System) {
      const { escrow, pm, attacker, alice, attackerOp } = s;
      await stakeAsAttacker(s, kms(10_000n), attackerOp.address);
      await escrow.connect(attackerOp).commitToNextPeriod();
      const current = await pm.getCurrentPeriod();
      await pm.connect(alice).createPolicy(pid(1), alice.address, [await attacker.getAddress()], current + 3n, RATE);
      await time.increase(DAY);
      return current;
    }

    it("withdrawFees: a re-entrant withdrawal is refused and the fees are paid once", async function () {
      const s = await loadFixture(deploySystem);
      const { pm, attacker, token } = s;
      await attackerEarningFees(s);
      expect(await pm.pendingFees(attacker)).to.equal(RATE);
      await attacker.arm(pm, pm.interface.encodeFunctionData("withdrawFees"), false);
      const balance = await token.balanceOf(attacker);

      await expect(attacker.execute(pm, pm.interface.encodeFunctionData("withdrawFees")))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(pm, "ReentrancyGuardReentrantCall"));
      expect(await token.balanceOf(attacker)).to.equal(balance + RATE);
      expect(await pm.pendingFees(attacker)).to.equal(0n);
    });

    /** A policy owned by the attacker over Alice's node, who never commits: every period is refundable. */
    async function attackerOwnedPolicy(s: System) {
      const { pm, token, attacker, alice } = s;
      await aliceStaked(s);
      const current = await pm.getCurrentPeriod();
      const end = current + 4n;
      await attacker.execute(token, token.interface.encodeFunctionData("approve", [await pm.getAddress(), RATE * 4n]));
      await attacker.execute(
        pm,
        pm.interface.encodeFunctionData("createPolicy", [
          pid(9),
          await attacker.getAddress(),
          [alice.address],
          end,
          RATE,
        ]),
      );
      const record = {
        owner: await attacker.getAddress(),
        startPeriod: current,
        endPeriod: end,
        refundedThrough: current,
        feeRate: RATE,
        nodes: [alice.address],
      };
      return record;
    }

    it("refund: a re-entrant refund of the same record is refused and the owner is paid once", async function () {
      const s = await loadFixture(deploySystem);
      const { pm, token, attacker } = s;
      const record = await attackerOwnedPolicy(s);
      await time.increase(DAY);
      const refund = pm.interface.encodeFunctionData("refund", [pid(9), record]);
      await attacker.arm(pm, refund, false);
      const balance = await token.balanceOf(attacker);

      await expect(attacker.execute(pm, refund))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(pm, "ReentrancyGuardReentrantCall"));
      // Periods current − 1 and current are settled and missed: two periods refunded, once.
      expect(await token.balanceOf(attacker)).to.equal(balance + 2n * RATE);
      expect(await token.balanceOf(pm)).to.equal(2n * RATE);
    });

    it("revokePolicy: a re-entrant revocation is refused and the refund is paid once", async function () {
      const s = await loadFixture(deploySystem);
      const { pm, token, attacker } = s;
      const record = await attackerOwnedPolicy(s);
      const revoke = pm.interface.encodeFunctionData("revokePolicy", [pid(9), record]);
      await attacker.arm(pm, revoke, false);
      const balance = await token.balanceOf(attacker);

      await expect(attacker.execute(pm, revoke))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(pm, "ReentrancyGuardReentrantCall"));
      // Revoked in its first period: the three later periods come back.
      expect(await token.balanceOf(attacker)).to.equal(balance + 3n * RATE);
      expect(await token.balanceOf(pm)).to.equal(RATE);
    });

    it("createPolicy: re-entered from the deposit pull, the same id is refused and another id is paid for", async function () {
      const s = await loadFixture(deploySystem);
      const { pm, token, attacker, alice } = s;
      await aliceStaked(s);
      const current = await pm.getCurrentPeriod();
      const me = await attacker.getAddress();
      await attacker.execute(token, token.interface.encodeFunctionData("approve", [await pm.getAddress(), RATE * 10n]));
      const create = (id: number) =>
        pm.interface.encodeFunctionData("createPolicy", [pid(id), me, [alice.address], current + 2n, RATE]);

      // The commitment is stored before the pull: the nested call sees the id taken.
      await attacker.arm(pm, create(1), true);
      await expect(attacker.execute(pm, create(1)))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(false, errorData(pm, "PolicyAlreadyExists", [pid(1)]));

      // A nested creation of another policy is just a second, fully paid policy.
      await attacker.arm(pm, create(3), true);
      await expect(attacker.execute(pm, create(2)))
        .to.emit(attacker, "ReentryAttempted")
        .withArgs(true, ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [RATE * 2n]));
      expect(await token.balanceOf(pm)).to.equal(3n * 2n * RATE);
      for (const id of [1, 2, 3]) expect(await pm.policyCommitment(pid(id))).to.not.equal(ethers.ZeroHash);
    });
  });
});
