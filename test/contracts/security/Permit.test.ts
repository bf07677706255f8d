// EIP-2612 permit edge cases of depositWithPermit, depositAndLockWithPermit and createPolicyWithPermit, on the
// system deployed by the Ignition module: a permit is only ever a convenience for its own signer. A stolen,
// replayed, expired, short or misdirected permit never moves anyone's tokens; the call then fails on the
// missing allowance (ERC20InsufficientAllowance), leaving every balance as it was.
import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import KMSModule, {
  DEFAULT_MIN_FEE_RATE,
  DEFAULT_MIN_LOCK_PERIODS,
  DEFAULT_MIN_STAKE,
} from "../../../ignition/modules/KMS";
import type { KMSToken, PolicyManager, StakingEscrow } from "../../../typechain-types";
import { signPermit } from "../../../src/token/permit";

const RATE = DEFAULT_MIN_FEE_RATE;

async function deployedFixture() {
  const [deployer, alice, mallory, node, operator] = await ethers.getSigners();
  const deployed = await ignition.deploy(KMSModule);
  const token = deployed.token as unknown as KMSToken;
  const escrow = deployed.escrow as unknown as StakingEscrow;
  const pm = deployed.policyManager as unknown as PolicyManager;
  for (const who of [alice, mallory, node]) await token.connect(deployer).transfer(who.address, DEFAULT_MIN_STAKE * 4n);
  await token.connect(node).approve(await escrow.getAddress(), DEFAULT_MIN_STAKE);
  await escrow.connect(node).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS);
  await escrow.connect(node).bondOperator(operator.address);
  await escrow.connect(operator).confirmOperator(node.address);
  const deadline = BigInt(await time.latest()) + 3_600n;
  return { token, escrow, pm, alice, mallory, node, deadline };
}

type Fixture = Awaited<ReturnType<typeof deployedFixture>>;

/** Runs `action` and checks that no listed account's token balance moved. */
async function expectNoBalanceChange(f: Fixture, action: () => Promise<void>): Promise<void> {
  const who = [f.alice.address, f.mallory.address, await f.escrow.getAddress(), await f.pm.getAddress()];
  const before = await Promise.all(who.map((a) => f.token.balanceOf(a)));
  await action();
  expect(await Promise.all(who.map((a) => f.token.balanceOf(a)))).to.deep.equal(before);
}

describe("security: permit edge cases", function () {
  describe("StakingEscrow deposits", function () {
    it("a permit submitted by someone else deposits nothing for anyone; the signer can still use it", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, escrow, alice, mallory, deadline } = f;
      const value = DEFAULT_MIN_STAKE;
      const sig = await signPermit(token, alice, { spender: await escrow.getAddress(), value, deadline });
      await expectNoBalanceChange(f, async () => {
        // The permit is checked for the caller: Mallory's call permits nothing and Mallory approved nothing.
        await expect(escrow.connect(mallory).depositWithPermit(value, deadline, sig.v, sig.r, sig.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await escrow.getAddress(), 0n, value);
      });
      await expect(escrow.connect(alice).depositWithPermit(value, deadline, sig.v, sig.r, sig.s))
        .to.emit(escrow, "Deposited")
        .withArgs(alice.address, value);
      expect(await escrow.stakeOf(mallory.address)).to.equal(0n);
    });

    it("a permit is spent once: replaying it needs an allowance that is no longer there", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, escrow, alice, deadline } = f;
      const value = DEFAULT_MIN_STAKE;
      const sig = await signPermit(token, alice, { spender: await escrow.getAddress(), value, deadline });
      await escrow
        .connect(alice)
        .depositAndLockWithPermit(value, DEFAULT_MIN_LOCK_PERIODS, deadline, sig.v, sig.r, sig.s);
      await expectNoBalanceChange(f, async () => {
        await expect(escrow.connect(alice).depositWithPermit(value, deadline, sig.v, sig.r, sig.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await escrow.getAddress(), 0n, value);
      });
      expect(await escrow.stakeOf(alice.address)).to.equal(value);
    });

    it("an expired permit, or one for less than the deposit, deposits nothing", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, escrow, alice } = f;
      const spender = await escrow.getAddress();
      const past = BigInt(await time.latest()) - 1n;
      const expired = await signPermit(token, alice, { spender, value: DEFAULT_MIN_STAKE, deadline: past });
      const later = BigInt(await time.latest()) + 3_600n;
      const short = await signPermit(token, alice, { spender, value: DEFAULT_MIN_STAKE - 1n, deadline: later });
      await expectNoBalanceChange(f, async () => {
        await expect(escrow.connect(alice).depositWithPermit(DEFAULT_MIN_STAKE, past, expired.v, expired.r, expired.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(spender, 0n, DEFAULT_MIN_STAKE);
        // The short permit signs a different value, so it does not even verify for the deposit's value.
        await expect(escrow.connect(alice).depositWithPermit(DEFAULT_MIN_STAKE, later, short.v, short.r, short.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(spender, 0n, DEFAULT_MIN_STAKE);
      });
      expect(await token.nonces(alice.address)).to.equal(0n);
    });

    it("a permit signed for the PolicyManager cannot be spent by the escrow", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, escrow, pm, alice, deadline } = f;
      const sig = await signPermit(token, alice, {
        spender: await pm.getAddress(),
        value: DEFAULT_MIN_STAKE,
        deadline,
      });
      await expectNoBalanceChange(f, async () => {
        await expect(escrow.connect(alice).depositWithPermit(DEFAULT_MIN_STAKE, deadline, sig.v, sig.r, sig.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await escrow.getAddress(), 0n, DEFAULT_MIN_STAKE);
      });
      expect(await token.allowance(alice.address, await pm.getAddress())).to.equal(0n);
    });
  });

  describe("PolicyManager.createPolicyWithPermit", function () {
    it("a permit for less than the deposit fails on the transfer, leaving no policy, allowance or used nonce", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, pm, alice, node, deadline } = f;
      const end = (await pm.getCurrentPeriod()) + 3n;
      const deposit = RATE * 3n;
      const sig = await signPermit(token, alice, { spender: await pm.getAddress(), value: deposit - 1n, deadline });
      const permit = { value: deposit - 1n, deadline, v: sig.v, r: sig.r, s: sig.s };
      const id = ethers.zeroPadValue("0x01", 16);
      await expectNoBalanceChange(f, async () => {
        // The permit itself is valid and grants deposit − 1; the pull of the full deposit then fails.
        await expect(pm.connect(alice).createPolicyWithPermit(id, alice.address, [node.address], end, RATE, permit))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await pm.getAddress(), deposit - 1n, deposit);
      });
      // The whole call reverted, the permit included: no policy, no allowance, nonce unused.
      expect(await pm.policyCommitment(id)).to.equal(ethers.ZeroHash);
      expect(await token.allowance(alice.address, await pm.getAddress())).to.equal(0n);
      expect(await token.nonces(alice.address)).to.equal(0n);
    });

    it("someone else's permit pays nothing: the payer is always the caller", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, pm, alice, mallory, node, deadline } = f;
      const end = (await pm.getCurrentPeriod()) + 3n;
      const deposit = RATE * 3n;
      const sig = await signPermit(token, alice, { spender: await pm.getAddress(), value: deposit, deadline });
      const permit = { value: deposit, deadline, v: sig.v, r: sig.r, s: sig.s };
      const id = ethers.zeroPadValue("0x02", 16);
      await expectNoBalanceChange(f, async () => {
        await expect(pm.connect(mallory).createPolicyWithPermit(id, mallory.address, [node.address], end, RATE, permit))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await pm.getAddress(), 0n, deposit);
      });
      await expect(pm.connect(alice).createPolicyWithPermit(id, alice.address, [node.address], end, RATE, permit))
        .to.emit(pm, "PolicyCreated")
        .withArgs(id, alice.address, end - 3n, end, RATE, [node.address]);
      expect(await token.balanceOf(await pm.getAddress())).to.equal(deposit);
    });

    it("an expired permit creates nothing", async function () {
      const f = await loadFixture(deployedFixture);
      const { token, pm, alice, node } = f;
      const end = (await pm.getCurrentPeriod()) + 2n;
      const past = BigInt(await time.latest()) - 1n;
      const sig = await signPermit(token, alice, { spender: await pm.getAddress(), value: RATE * 2n, deadline: past });
      const id = ethers.zeroPadValue("0x03", 16);
      await expectNoBalanceChange(f, async () => {
        await expect(
          pm.connect(alice).createPolicyWithPermit(id, alice.address, [node.address], end, RATE, {
            value: RATE * 2n,
            deadline: past,
            v: sig.v,
            r: sig.r,
            s: sig.s,
          }),
        )
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await pm.getAddress(), 0n, RATE * 2n);
      });
    });
  });
});
