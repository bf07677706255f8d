// StakingEscrow: deposits, locks, operators, commitments, the mining schedule, rewards and slashing.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { signPermit } from "../../../src/token/permit";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { KMSToken, StakingEscrow } from "../../../typechain-types";
import {
  DAY,
  DENOMINATOR,
  LOCK_PERIODS,
  LOCKS,
  MAX_STAKE,
  MIN_LOCK,
  MIN_OPERATOR_PERIODS,
  MIN_STAKE,
  RATE,
  RESERVE,
  advancePeriods,
  committedFixture,
  deployEscrowFixture,
  issuanceFrom,
  kms,
  share,
  stakedFixture,
} from "./helpers";

/** Everything a failed call must leave as it was. */
async function snapshotState(escrow: StakingEscrow, token: KMSToken, stakers: HardhatEthersSigner[]) {
  const current = await escrow.getCurrentPeriod();
  return {
    stakers: await Promise.all(stakers.map(async (s) => [...(await escrow.getStakerInfo(s.address))])),
    periods: [
      await escrow.lockedPerPeriod(current),
      await escrow.lockedPerPeriod(current + 1n),
      await escrow.issuanceOf(current + 1n),
    ],
    reserve: await escrow.unallocatedReserve(),
    balance: await token.balanceOf(await escrow.getAddress()),
  };
}

describe("StakingEscrow", function () {
  describe("deployment", function () {
    it("stores its parameters and the funded reserve", async function () {
      const { escrow, token, owner } = await loadFixture(deployEscrowFixture);
      expect(await escrow.token()).to.equal(await token.getAddress());
      expect(await escrow.periodDuration()).to.equal(DAY);
      expect(await escrow.minStake()).to.equal(MIN_STAKE);
      expect(await escrow.maxStake()).to.equal(MAX_STAKE);
      expect(await escrow.minLockPeriods()).to.equal(MIN_LOCK);
      expect(await escrow.minOperatorPeriods()).to.equal(MIN_OPERATOR_PERIODS);
      expect(await escrow.issuanceRate()).to.equal(RATE);
      expect(await escrow.ISSUANCE_RATE_DENOMINATOR()).to.equal(DENOMINATOR);
      expect(await escrow.owner()).to.equal(owner.address);
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE);
      expect(await token.balanceOf(await escrow.getAddress())).to.equal(RESERVE);
      expect(await escrow.policyManager()).to.equal(ethers.ZeroAddress);
      expect(await escrow.adjudicator()).to.equal(ethers.ZeroAddress);
    });

    it("numbers periods as block.timestamp / periodDuration", async function () {
      const { escrow } = await loadFixture(deployEscrowFixture);
      expect(await escrow.getCurrentPeriod()).to.equal(BigInt(await time.latest()) / DAY);
    });

    describe("reverts", function () {
      const base = (token: string, owner: string) =>
        [token, DAY, MIN_STAKE, MAX_STAKE, MIN_LOCK, MIN_OPERATOR_PERIODS, RATE, owner] as const;
      async function deployWith(overrides: Record<number, unknown>) {
        const { token, owner } = await loadFixture(deployEscrowFixture);
        const args: unknown[] = [...base(await token.getAddress(), owner.address)];
        for (const [i, v] of Object.entries(overrides)) args[Number(i)] = v;
        const factory = await ethers.getContractFactory("StakingEscrow");
        return { factory, promise: factory.deploy(...(args as Parameters<typeof factory.deploy>)) };
      }

      it("on a zero token address", async function () {
        const { factory, promise } = await deployWith({ 0: ethers.ZeroAddress });
        await expect(promise).to.be.revertedWithCustomError(factory, "ZeroAddress");
      });
      it("on a zero period duration", async function () {
        const { factory, promise } = await deployWith({ 1: 0n });
        await expect(promise).to.be.revertedWithCustomError(factory, "ZeroPeriodDuration");
      });
      it("on a zero minimum stake", async function () {
        const { factory, promise } = await deployWith({ 2: 0n });
        await expect(promise).to.be.revertedWithCustomError(factory, "InvalidStakeBounds").withArgs(0n, MAX_STAKE);
      });
      it("on a minimum stake above the maximum", async function () {
        const { factory, promise } = await deployWith({ 2: MAX_STAKE + 1n });
        await expect(promise)
          .to.be.revertedWithCustomError(factory, "InvalidStakeBounds")
          .withArgs(MAX_STAKE + 1n, MAX_STAKE);
      });
      it("on a minimum lock of zero or of 2^32 periods", async function () {
        for (const minLock of [0n, 2n ** 32n]) {
          const { factory, promise } = await deployWith({ 4: minLock });
          await expect(promise)
            .to.be.revertedWithCustomError(factory, "InvalidLockPeriods")
            .withArgs(minLock, MIN_OPERATOR_PERIODS);
        }
      });
      it("on a minimum operator duration not below the minimum lock", async function () {
        const { factory, promise } = await deployWith({ 5: MIN_LOCK });
        await expect(promise).to.be.revertedWithCustomError(factory, "InvalidLockPeriods").withArgs(MIN_LOCK, MIN_LOCK);
      });
      it("on an issuance rate of zero or of the whole reserve", async function () {
        for (const rate of [0n, DENOMINATOR]) {
          const { factory, promise } = await deployWith({ 6: rate });
          await expect(promise)
            .to.be.revertedWithCustomError(factory, "InvalidIssuanceRate")
            .withArgs(rate, DENOMINATOR);
        }
      });
      it("on a token whose supply exceeds 96 bits", async function () {
        const { owner } = await loadFixture(deployEscrowFixture);
        const big = await ethers.deployContract("KMSToken", [owner.address, 2n ** 96n]);
        const factory = await ethers.getContractFactory("StakingEscrow");
        await expect(
          factory.deploy(
            await big.getAddress(),
            DAY,
            MIN_STAKE,
            MAX_STAKE,
            MIN_LOCK,
            MIN_OPERATOR_PERIODS,
            RATE,
            owner.address,
          ),
        )
          .to.be.revertedWithCustomError(factory, "TokenSupplyTooLarge")
          .withArgs(2n ** 96n);
      });
      it("on a zero owner", async function () {
        const { factory, promise } = await deployWith({ 7: ethers.ZeroAddress });
        await expect(promise)
          .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
          .withArgs(ethers.ZeroAddress);
      });
    });
  });

  describe("wiring", function () {
    it("lets the owner set the policy manager and the adjudicator once each", async function () {
      const { escrow, adjudicator, stranger } = await loadFixture(deployEscrowFixture);
      await expect(escrow.setPolicyManager(stranger.address))
        .to.emit(escrow, "PolicyManagerSet")
        .withArgs(stranger.address);
      await expect(escrow.setAdjudicator(adjudicator.address))
        .to.emit(escrow, "AdjudicatorSet")
        .withArgs(adjudicator.address);
      expect(await escrow.policyManager()).to.equal(stranger.address);
      expect(await escrow.adjudicator()).to.equal(adjudicator.address);
      await expect(escrow.setPolicyManager(adjudicator.address))
        .to.be.revertedWithCustomError(escrow, "PolicyManagerAlreadySet")
        .withArgs(stranger.address);
      await expect(escrow.setAdjudicator(stranger.address))
        .to.be.revertedWithCustomError(escrow, "AdjudicatorAlreadySet")
        .withArgs(adjudicator.address);
    });

    it("rejects other callers and the zero address", async function () {
      const { escrow, stranger } = await loadFixture(deployEscrowFixture);
      await expect(escrow.connect(stranger).setPolicyManager(stranger.address))
        .to.be.revertedWithCustomError(escrow, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(escrow.connect(stranger).setAdjudicator(stranger.address))
        .to.be.revertedWithCustomError(escrow, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(escrow.setPolicyManager(ethers.ZeroAddress)).to.be.revertedWithCustomError(escrow, "ZeroAddress");
      await expect(escrow.setAdjudicator(ethers.ZeroAddress)).to.be.revertedWithCustomError(escrow, "ZeroAddress");
    });
  });

  describe("fundReserve", function () {
    it("adds to the unallocated reserve from anyone who approved", async function () {
      const { escrow, token, alice } = await loadFixture(deployEscrowFixture);
      await expect(escrow.connect(alice).fundReserve(kms(5)))
        .to.emit(escrow, "ReserveFunded")
        .withArgs(alice.address, kms(5))
        .and.to.emit(token, "Transfer")
        .withArgs(alice.address, await escrow.getAddress(), kms(5));
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE + kms(5));
    });

    it("rejects zero", async function () {
      const { escrow } = await loadFixture(deployEscrowFixture);
      await expect(escrow.fundReserve(0n)).to.be.revertedWithCustomError(escrow, "ZeroAmount");
    });
  });

  describe("deposit", function () {
    it("moves tokens in as unlocked stake", async function () {
      const { escrow, token, alice } = await loadFixture(deployEscrowFixture);
      await expect(escrow.connect(alice).deposit(kms(1_500)))
        .to.emit(escrow, "Deposited")
        .withArgs(alice.address, kms(1_500))
        .and.to.emit(token, "Transfer")
        .withArgs(alice.address, await escrow.getAddress(), kms(1_500));
      expect(await escrow.stakeOf(alice.address)).to.equal(kms(1_500));
      expect(await escrow.getLock(alice.address)).to.deep.equal([0n, 0n]);
    });

    it("depositAndLock deposits and locks in one call", async function () {
      const { escrow, alice } = await loadFixture(deployEscrowFixture);
      const current = await escrow.getCurrentPeriod();
      await expect(escrow.connect(alice).depositAndLock(kms(1_000), 10n))
        .to.emit(escrow, "Deposited")
        .withArgs(alice.address, kms(1_000))
        .and.to.emit(escrow, "Locked")
        .withArgs(alice.address, kms(1_000), kms(1_000), current + 10n);
      expect(await escrow.getLock(alice.address)).to.deep.equal([kms(1_000), current + 10n]);
    });

    it("accepts an EIP-2612 permit instead of an approval, for both variants", async function () {
      const { escrow, token, stranger } = await loadFixture(deployEscrowFixture);
      await token.transfer(stranger.address, kms(3_000));
      const spender = await escrow.getAddress();
      const deadline = BigInt(await time.latest()) + 3_600n;
      let sig = await signPermit(token, stranger, { spender, value: kms(1_000), deadline });
      await expect(escrow.connect(stranger).depositWithPermit(kms(1_000), deadline, sig.v, sig.r, sig.s))
        .to.emit(escrow, "Deposited")
        .withArgs(stranger.address, kms(1_000));
      sig = await signPermit(token, stranger, { spender, value: kms(2_000), deadline });
      const current = await escrow.getCurrentPeriod();
      await expect(escrow.connect(stranger).depositAndLockWithPermit(kms(2_000), 7n, deadline, sig.v, sig.r, sig.s))
        .to.emit(escrow, "Locked")
        .withArgs(stranger.address, kms(2_000), kms(2_000), current + 7n);
      expect(await escrow.stakeOf(stranger.address)).to.equal(kms(3_000));
      expect(await token.allowance(stranger.address, spender)).to.equal(0n);
    });

    it("still deposits when the permit was front-run (used by someone else first)", async function () {
      const { escrow, token, stranger, owner } = await loadFixture(deployEscrowFixture);
      await token.transfer(stranger.address, kms(1_000));
      const spender = await escrow.getAddress();
      const deadline = BigInt(await time.latest()) + 3_600n;
      const sig = await signPermit(token, stranger, { spender, value: kms(1_000), deadline });
      await token.connect(owner).permit(stranger.address, spender, kms(1_000), deadline, sig.v, sig.r, sig.s);
      await expect(escrow.connect(stranger).depositWithPermit(kms(1_000), deadline, sig.v, sig.r, sig.s))
        .to.emit(escrow, "Deposited")
        .withArgs(stranger.address, kms(1_000));
    });

    describe("reverts", function () {
      it("on zero", async function () {
        const { escrow, alice } = await loadFixture(deployEscrowFixture);
        await expect(escrow.connect(alice).deposit(0n)).to.be.revertedWithCustomError(escrow, "ZeroAmount");
        await expect(escrow.connect(alice).depositAndLock(0n, 10n)).to.be.revertedWithCustomError(escrow, "ZeroAmount");
      });

      it("on a bad permit without allowance, leaving nothing changed", async function () {
        const { escrow, token, stranger } = await loadFixture(deployEscrowFixture);
        await token.transfer(stranger.address, kms(1_000));
        const deadline = BigInt(await time.latest()) + 3_600n;
        const sig = await signPermit(token, stranger, { spender: await escrow.getAddress(), value: kms(1), deadline });
        await expect(escrow.connect(stranger).depositWithPermit(kms(1_000), deadline, sig.v, sig.r, sig.s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await escrow.getAddress(), 0n, kms(1_000));
        expect(await escrow.stakeOf(stranger.address)).to.equal(0n);
      });

      it("when the caller is another staker's operator", async function () {
        const { escrow, token, alice, aliceOp } = await loadFixture(stakedFixture);
        await token.transfer(aliceOp.address, kms(1_000));
        await token.connect(aliceOp).approve(await escrow.getAddress(), kms(1_000));
        await expect(escrow.connect(aliceOp).deposit(kms(1_000)))
          .to.be.revertedWithCustomError(escrow, "OperatorCannotStake")
          .withArgs(aliceOp.address, alice.address);
        expect(await escrow.stakeOf(aliceOp.address)).to.equal(0n);
      });
    });
  });

  describe("lock", function () {
    it("adds to an active lock, keeping its end unless asked for a later one", async function () {
      const { escrow, alice } = await loadFixture(deployEscrowFixture);
      const current = await escrow.getCurrentPeriod();
      await escrow.connect(alice).depositAndLock(kms(1_000), 10n);
      await escrow.connect(alice).deposit(kms(3_000));
      await expect(escrow.connect(alice).lock(kms(500), 0n))
        .to.emit(escrow, "Locked")
        .withArgs(alice.address, kms(500), kms(1_500), current + 10n);
      await expect(escrow.connect(alice).lock(kms(500), 12n))
        .to.emit(escrow, "Locked")
        .withArgs(alice.address, kms(500), kms(2_000), current + 12n);
      expect(await escrow.getLock(alice.address)).to.deep.equal([kms(2_000), current + 12n]);
    });

    it("starts over from zero once the lock has expired", async function () {
      const { escrow, alice } = await loadFixture(deployEscrowFixture);
      await escrow.connect(alice).depositAndLock(kms(2_000), MIN_LOCK);
      await advancePeriods(escrow, MIN_LOCK);
      const current = await escrow.getCurrentPeriod();
      await expect(escrow.connect(alice).lock(kms(1_200), MIN_LOCK))
        .to.emit(escrow, "Locked")
        .withArgs(alice.address, kms(1_200), kms(1_200), current + MIN_LOCK);
    });

    it("counts the added value in the periods already committed to (current and next)", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(aliceOp).commitToNextPeriod();
      const current = await escrow.getCurrentPeriod();
      await escrow.connect(alice).deposit(kms(300));
      await escrow.connect(alice).lock(kms(300), 0n);
      expect(await escrow.lockedPerPeriod(current)).to.equal(LOCKS[0] + kms(300));
      expect(await escrow.lockedPerPeriod(current + 1n)).to.equal(LOCKS[0] + kms(300));
    });

    describe("reverts, leaving state unchanged", function () {
      async function expectUnchanged(fx: Awaited<ReturnType<typeof stakedFixture>>, call: () => Promise<unknown>) {
        const before = await snapshotState(fx.escrow, fx.token, fx.stakers);
        await call();
        expect(await snapshotState(fx.escrow, fx.token, fx.stakers)).to.deep.equal(before);
      }

      it("on zero", async function () {
        const fx = await loadFixture(stakedFixture);
        await expectUnchanged(fx, () =>
          expect(fx.escrow.connect(fx.alice).lock(0n, 10n)).to.be.revertedWithCustomError(fx.escrow, "ZeroAmount"),
        );
      });

      it("on a lock shorter than the minimum", async function () {
        const { escrow, alice } = await loadFixture(deployEscrowFixture);
        await expect(escrow.connect(alice).depositAndLock(kms(1_000), MIN_LOCK - 1n))
          .to.be.revertedWithCustomError(escrow, "LockTooShort")
          .withArgs(MIN_LOCK - 1n, MIN_LOCK);
        expect(await escrow.stakeOf(alice.address)).to.equal(0n);
        expect(await escrow.getLock(alice.address)).to.deep.equal([0n, 0n]);
      });

      it("on adding to a lock that ends sooner than the minimum, unless it is extended", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.connect(fx.alice).deposit(kms(1_000));
        await advancePeriods(fx.escrow, LOCK_PERIODS - 2n);
        await expectUnchanged(fx, () =>
          expect(fx.escrow.connect(fx.alice).lock(kms(1), 0n))
            .to.be.revertedWithCustomError(fx.escrow, "LockTooShort")
            .withArgs(2n, MIN_LOCK),
        );
        await expect(fx.escrow.connect(fx.alice).lock(kms(1), MIN_LOCK)).to.emit(fx.escrow, "Locked");
      });

      it("on a lock below the minimum stake", async function () {
        const fx = await loadFixture(deployEscrowFixture);
        await expect(fx.escrow.connect(fx.alice).depositAndLock(MIN_STAKE - 1n, MIN_LOCK))
          .to.be.revertedWithCustomError(fx.escrow, "LockBelowMinimum")
          .withArgs(MIN_STAKE - 1n, MIN_STAKE);
        expect(await fx.escrow.stakeOf(fx.alice.address)).to.equal(0n);
      });

      it("on a lock above the maximum stake", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.connect(fx.alice).deposit(MAX_STAKE);
        await expectUnchanged(fx, () =>
          expect(fx.escrow.connect(fx.alice).lock(MAX_STAKE, 0n))
            .to.be.revertedWithCustomError(fx.escrow, "LockAboveMaximum")
            .withArgs(MAX_STAKE + LOCKS[0], MAX_STAKE),
        );
      });

      it("on locking more than the unlocked stake", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.connect(fx.alice).deposit(kms(10));
        await expectUnchanged(fx, () =>
          expect(fx.escrow.connect(fx.alice).lock(kms(11), 0n))
            .to.be.revertedWithCustomError(fx.escrow, "InsufficientUnlocked")
            .withArgs(kms(11), kms(10)),
        );
      });

      it("on a lock end beyond 2^32 - 1", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.connect(fx.alice).deposit(kms(10));
        await expectUnchanged(fx, () =>
          expect(fx.escrow.connect(fx.alice).lock(kms(10), 2n ** 32n))
            .to.be.revertedWithCustomError(fx.escrow, "PeriodOverflow")
            .withArgs(2n ** 32n),
        );
      });
    });
  });

  describe("prolong", function () {
    it("extends the active lock", async function () {
      const { escrow, alice } = await loadFixture(stakedFixture);
      const [, unlock] = await escrow.getLock(alice.address);
      await expect(escrow.connect(alice).prolong(3n))
        .to.emit(escrow, "Prolonged")
        .withArgs(alice.address, 3n, unlock + 3n);
      expect(await escrow.getLock(alice.address)).to.deep.equal([LOCKS[0], unlock + 3n]);
    });

    describe("reverts", function () {
      it("on zero periods", async function () {
        const { escrow, alice } = await loadFixture(stakedFixture);
        await expect(escrow.connect(alice).prolong(0n)).to.be.revertedWithCustomError(escrow, "ZeroAmount");
      });
      it("without an active lock", async function () {
        const { escrow, alice, stranger } = await loadFixture(stakedFixture);
        await expect(escrow.connect(stranger).prolong(1n))
          .to.be.revertedWithCustomError(escrow, "NoActiveLock")
          .withArgs(stranger.address, 0n);
        const [, unlock] = await escrow.getLock(alice.address);
        await advancePeriods(escrow, LOCK_PERIODS);
        await expect(escrow.connect(alice).prolong(1n))
          .to.be.revertedWithCustomError(escrow, "NoActiveLock")
          .withArgs(alice.address, unlock);
      });
      it("beyond 2^32 - 1", async function () {
        const { escrow, alice } = await loadFixture(stakedFixture);
        await expect(escrow.connect(alice).prolong(2n ** 32n))
          .to.be.revertedWithCustomError(escrow, "PeriodOverflow")
          .withArgs(2n ** 32n);
      });
    });
  });

  describe("withdraw", function () {
    it("pays out unlocked stake only, all of it once the lock ends", async function () {
      const { escrow, token, alice } = await loadFixture(stakedFixture);
      await escrow.connect(alice).deposit(kms(70));
      await expect(escrow.connect(alice).withdraw(kms(71)))
        .to.be.revertedWithCustomError(escrow, "InsufficientUnlocked")
        .withArgs(kms(71), kms(70));
      await expect(escrow.connect(alice).withdraw(kms(70)))
        .to.emit(escrow, "Withdrawn")
        .withArgs(alice.address, kms(70))
        .and.to.emit(token, "Transfer")
        .withArgs(await escrow.getAddress(), alice.address, kms(70));
      await advancePeriods(escrow, LOCK_PERIODS - 1n);
      await expect(escrow.connect(alice).withdraw(1n))
        .to.be.revertedWithCustomError(escrow, "InsufficientUnlocked")
        .withArgs(1n, 0n);
      await advancePeriods(escrow, 1n);
      await escrow.connect(alice).withdraw(LOCKS[0]);
      expect(await escrow.stakeOf(alice.address)).to.equal(0n);
    });

    it("pays out minted rewards", async function () {
      const { escrow, token, alice } = await loadFixture(committedFixture);
      await escrow.connect(alice).mint();
      const reward = (await escrow.stakeOf(alice.address)) - LOCKS[0];
      expect(reward).to.be.greaterThan(0n);
      const before = await token.balanceOf(alice.address);
      await escrow.connect(alice).withdraw(reward);
      expect(await token.balanceOf(alice.address)).to.equal(before + reward);
    });

    it("rejects zero", async function () {
      const { escrow, alice } = await loadFixture(stakedFixture);
      await expect(escrow.connect(alice).withdraw(0n)).to.be.revertedWithCustomError(escrow, "ZeroAmount");
    });
  });

  describe("bondOperator", function () {
    it("proposes an operator, which counts once it confirms; both ways mapped and the period recorded", async function () {
      const { escrow, alice, stranger } = await loadFixture(deployEscrowFixture);
      await escrow.connect(alice).depositAndLock(kms(1_000), 10n);
      const current = await escrow.getCurrentPeriod();
      await expect(escrow.connect(alice).bondOperator(stranger.address))
        .to.emit(escrow, "OperatorBonded")
        .withArgs(alice.address, stranger.address, ethers.ZeroAddress, current);
      expect(await escrow.operatorOf(alice.address)).to.equal(ethers.ZeroAddress);
      expect(await escrow.pendingOperatorOf(alice.address)).to.equal(stranger.address);
      expect(await escrow.stakerFromOperator(stranger.address)).to.equal(ethers.ZeroAddress);
      await expect(escrow.connect(stranger).commitToNextPeriod()).to.be.revertedWithCustomError(escrow, "NotOperator");
      await advancePeriods(escrow, 1n);
      await expect(escrow.connect(stranger).confirmOperator(alice.address))
        .to.emit(escrow, "OperatorConfirmed")
        .withArgs(alice.address, stranger.address, current + 1n);
      expect(await escrow.operatorOf(alice.address)).to.equal(stranger.address);
      expect(await escrow.pendingOperatorOf(alice.address)).to.equal(ethers.ZeroAddress);
      expect(await escrow.stakerFromOperator(stranger.address)).to.equal(alice.address);
      const info = await escrow.getStakerInfo(alice.address);
      expect(info.operatorBondedPeriod).to.equal(current + 1n);
      expect(info.operatorConfirmed).to.equal(true);
    });

    it("lets a staker be its own operator", async function () {
      const { escrow, alice } = await loadFixture(deployEscrowFixture);
      await escrow.connect(alice).depositAndLock(kms(1_000), 10n);
      await expect(escrow.connect(alice).bondOperator(alice.address)).to.emit(escrow, "OperatorConfirmed");
      await expect(escrow.connect(alice).commitToNextPeriod()).to.emit(escrow, "CommitmentMade");
    });

    it("re-bonds after the minimum periods; the old operator stays mapped but can no longer commit", async function () {
      const { escrow, alice, aliceOp, stranger } = await loadFixture(stakedFixture);
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      const current = await escrow.getCurrentPeriod();
      await expect(escrow.connect(alice).bondOperator(stranger.address))
        .to.emit(escrow, "OperatorBonded")
        .withArgs(alice.address, stranger.address, aliceOp.address, current);
      expect(await escrow.stakerFromOperator(aliceOp.address)).to.equal(alice.address);
      await expect(escrow.connect(aliceOp).commitToNextPeriod())
        .to.be.revertedWithCustomError(escrow, "NotOperator")
        .withArgs(aliceOp.address);
      // Going back to an operator it used before is allowed: the key never left this staker.
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      await escrow.connect(alice).bondOperator(aliceOp.address);
      await expect(escrow.connect(aliceOp).commitToNextPeriod()).to.emit(escrow, "CommitmentMade");
    });

    it("unbonds with the zero address", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      await escrow.connect(alice).bondOperator(ethers.ZeroAddress);
      expect(await escrow.operatorOf(alice.address)).to.equal(ethers.ZeroAddress);
      expect(await escrow.stakerFromOperator(aliceOp.address)).to.equal(alice.address);
    });

    describe("reverts, leaving state unchanged", function () {
      it("without an active lock of at least the minimum stake", async function () {
        const { escrow, alice, stranger } = await loadFixture(deployEscrowFixture);
        await escrow.connect(alice).deposit(kms(5_000));
        await expect(escrow.connect(alice).bondOperator(stranger.address))
          .to.be.revertedWithCustomError(escrow, "NoActiveLock")
          .withArgs(alice.address, 0n);
        expect(await escrow.stakerFromOperator(stranger.address)).to.equal(ethers.ZeroAddress);
      });

      it("on an operator already bonded to another staker, even an old one", async function () {
        const { escrow, alice, bob, aliceOp, stranger } = await loadFixture(stakedFixture);
        await expect(escrow.connect(bob).bondOperator(aliceOp.address)).to.be.revertedWithCustomError(
          escrow,
          "RebondTooSoon",
        );
        await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
        await escrow.connect(alice).bondOperator(stranger.address);
        await expect(escrow.connect(bob).bondOperator(aliceOp.address))
          .to.be.revertedWithCustomError(escrow, "OperatorAlreadyBonded")
          .withArgs(aliceOp.address, alice.address);
        expect(await escrow.stakerFromOperator(aliceOp.address)).to.equal(alice.address);
      });

      it("on an operator that holds a stake", async function () {
        const { escrow, alice, bob } = await loadFixture(deployEscrowFixture);
        await escrow.connect(alice).depositAndLock(kms(1_000), 10n);
        await escrow.connect(bob).deposit(1n);
        await expect(escrow.connect(alice).bondOperator(bob.address))
          .to.be.revertedWithCustomError(escrow, "OperatorIsStaker")
          .withArgs(bob.address);
      });

      it("on an operator that holds only unminted rewards of an old stake", async function () {
        const { escrow, alice, bob, bobOp } = await loadFixture(stakedFixture);
        await escrow.connect(bobOp).commitToNextPeriod();
        await advancePeriods(escrow, LOCK_PERIODS);
        await escrow.connect(bob).withdraw(LOCKS[1]);
        expect(await escrow.stakeOf(bob.address)).to.equal(0n);
        expect(await escrow.pendingReward(bob.address)).to.be.greaterThan(0n);
        await escrow.connect(alice).lock(LOCKS[0], MIN_LOCK);
        await expect(escrow.connect(alice).bondOperator(bob.address))
          .to.be.revertedWithCustomError(escrow, "OperatorIsStaker")
          .withArgs(bob.address);
      });

      it("on the current operator", async function () {
        const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
        await expect(escrow.connect(alice).bondOperator(aliceOp.address))
          .to.be.revertedWithCustomError(escrow, "OperatorUnchanged")
          .withArgs(aliceOp.address);
      });

      it("before the minimum periods since the last change", async function () {
        const { escrow, alice, stranger } = await loadFixture(stakedFixture);
        const bonded = await escrow.getCurrentPeriod();
        await advancePeriods(escrow, MIN_OPERATOR_PERIODS - 1n);
        await expect(escrow.connect(alice).bondOperator(stranger.address))
          .to.be.revertedWithCustomError(escrow, "RebondTooSoon")
          .withArgs(bonded + MIN_OPERATOR_PERIODS, bonded + MIN_OPERATOR_PERIODS - 1n);
      });

      it("while committed to a future period", async function () {
        const { escrow, alice, aliceOp, stranger } = await loadFixture(stakedFixture);
        await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
        await escrow.connect(aliceOp).commitToNextPeriod();
        const next = (await escrow.getCurrentPeriod()) + 1n;
        await expect(escrow.connect(alice).bondOperator(stranger.address))
          .to.be.revertedWithCustomError(escrow, "RebondWhileCommitted")
          .withArgs(next);
        await advancePeriods(escrow, 1);
        await expect(escrow.connect(alice).bondOperator(stranger.address)).to.emit(escrow, "OperatorBonded");
      });
    });
  });

  describe("commitToNextPeriod", function () {
    it("counts the lock in the next period and allocates its issuance on the first commit", async function () {
      const { escrow, alice, aliceOp, bobOp } = await loadFixture(stakedFixture);
      const next = (await escrow.getCurrentPeriod()) + 1n;
      const issuance = issuanceFrom(RESERVE);
      await expect(escrow.connect(aliceOp).commitToNextPeriod())
        .to.emit(escrow, "IssuanceAllocated")
        .withArgs(next, issuance)
        .and.to.emit(escrow, "CommitmentMade")
        .withArgs(alice.address, next, LOCKS[0], 0n); // no policy manager: nothing credited
      await expect(escrow.connect(bobOp).commitToNextPeriod()).not.to.emit(escrow, "IssuanceAllocated");
      expect(await escrow.lockedPerPeriod(next)).to.equal(LOCKS[0] + LOCKS[1]);
      expect(await escrow.issuanceOf(next)).to.equal(issuance);
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE - issuance);
      expect(await escrow.getCommittedPeriods(alice.address)).to.deep.equal([0n, next]);
    });

    it("keeps the two latest commitments", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      const c = await escrow.getCurrentPeriod();
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(aliceOp).commitToNextPeriod();
      expect(await escrow.getCommittedPeriods(alice.address)).to.deep.equal([c + 1n, c + 2n]);
      await advancePeriods(escrow, 1);
      await escrow.connect(aliceOp).commitToNextPeriod();
      expect(await escrow.getCommittedPeriods(alice.address)).to.deep.equal([c + 2n, c + 3n]);
    });

    it("allocates each period's issuance from the reserve left after the previous ones", async function () {
      const { escrow, aliceOp } = await loadFixture(stakedFixture);
      const c = await escrow.getCurrentPeriod();
      let unallocated = RESERVE;
      for (let i = 1n; i <= 3n; i++) {
        await escrow.connect(aliceOp).commitToNextPeriod();
        expect(await escrow.issuanceOf(c + i)).to.equal(issuanceFrom(unallocated));
        unallocated -= issuanceFrom(unallocated);
        await advancePeriods(escrow, 1);
      }
      expect(await escrow.unallocatedReserve()).to.equal(unallocated);
    });

    it("calls the policy hook with the staker and the committed period and reports its credit", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      const hook = await ethers.deployContract("CommitHookRecorder");
      await escrow.setPolicyManager(await hook.getAddress());
      const next = (await escrow.getCurrentPeriod()) + 1n;
      // The recorder credits the period number: CommitmentMade carries what the hook returned.
      await expect(escrow.connect(aliceOp).commitToNextPeriod())
        .to.emit(hook, "CommitRecorded")
        .withArgs(await escrow.getAddress(), alice.address, next)
        .and.to.emit(escrow, "CommitmentMade")
        .withArgs(alice.address, next, LOCKS[0], next);
      expect(await hook.calls()).to.equal(1n);
    });

    describe("reverts, leaving state unchanged", function () {
      it("for a caller that is no operator, or an unbonded one", async function () {
        const fx = await loadFixture(stakedFixture);
        const before = await snapshotState(fx.escrow, fx.token, fx.stakers);
        for (const caller of [fx.stranger, fx.alice]) {
          await expect(fx.escrow.connect(caller).commitToNextPeriod())
            .to.be.revertedWithCustomError(fx.escrow, "NotOperator")
            .withArgs(caller.address);
        }
        expect(await snapshotState(fx.escrow, fx.token, fx.stakers)).to.deep.equal(before);
      });

      it("twice in one period", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.connect(fx.aliceOp).commitToNextPeriod();
        const before = await snapshotState(fx.escrow, fx.token, fx.stakers);
        const next = (await fx.escrow.getCurrentPeriod()) + 1n;
        await expect(fx.escrow.connect(fx.aliceOp).commitToNextPeriod())
          .to.be.revertedWithCustomError(fx.escrow, "AlreadyCommitted")
          .withArgs(fx.alice.address, next);
        expect(await snapshotState(fx.escrow, fx.token, fx.stakers)).to.deep.equal(before);
      });

      it("when the lock does not outlast the next period by the accountability window", async function () {
        const fx = await loadFixture(stakedFixture);
        const [, unlock] = await fx.escrow.getLock(fx.alice.address);
        // The last period the node may commit to is unlock - 1 - MIN_OPERATOR_PERIODS.
        await advancePeriods(fx.escrow, LOCK_PERIODS - MIN_OPERATOR_PERIODS - 2n);
        await expect(fx.escrow.connect(fx.aliceOp).commitToNextPeriod())
          .to.emit(fx.escrow, "CommitmentMade")
          .withArgs(fx.alice.address, unlock - 1n - MIN_OPERATOR_PERIODS, LOCKS[0], 0n);
        await advancePeriods(fx.escrow, 1n);
        const before = await snapshotState(fx.escrow, fx.token, fx.stakers);
        await expect(fx.escrow.connect(fx.aliceOp).commitToNextPeriod())
          .to.be.revertedWithCustomError(fx.escrow, "NotLockedForPeriod")
          .withArgs(fx.alice.address, unlock, unlock);
        expect(await snapshotState(fx.escrow, fx.token, fx.stakers)).to.deep.equal(before);
      });

      it("when the lock was slashed to nothing", async function () {
        const fx = await loadFixture(stakedFixture);
        await fx.escrow.setAdjudicator(fx.adjudicator.address);
        await fx.escrow.connect(fx.adjudicator).slash(fx.alice.address, LOCKS[0], fx.reporter.address, 0n);
        const [, unlock] = await fx.escrow.getLock(fx.alice.address);
        const next = (await fx.escrow.getCurrentPeriod()) + 1n;
        await expect(fx.escrow.connect(fx.aliceOp).commitToNextPeriod())
          .to.be.revertedWithCustomError(fx.escrow, "NotLockedForPeriod")
          .withArgs(fx.alice.address, next + MIN_OPERATOR_PERIODS, unlock);
      });
    });
  });

  describe("commitToNextPeriodFor", function () {
    it("has the same effects as commitToNextPeriod, minting included", async function () {
      const run = async (viaFor: boolean) => {
        const fx = await loadFixture(stakedFixture);
        for (let i = 0; i < 4; i++) {
          if (viaFor) await fx.escrow.connect(fx.aliceOp).commitToNextPeriodFor(fx.alice.address);
          else await fx.escrow.connect(fx.aliceOp).commitToNextPeriod();
          // Bob misses every other period, so his commitments mint one and two past periods.
          if (i % 2 === 0) await fx.escrow.connect(fx.bobOp).commitToNextPeriodFor(fx.bob.address);
          await advancePeriods(fx.escrow, 1);
        }
        return snapshotState(fx.escrow, fx.token, fx.stakers);
      };
      const viaFor = await run(true);
      expect(viaFor).to.deep.equal(await run(false));
    });

    it("emits what commitToNextPeriod emits and calls the policy hook", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      const hook = await ethers.deployContract("CommitHookRecorder");
      await escrow.setPolicyManager(await hook.getAddress());
      const next = (await escrow.getCurrentPeriod()) + 1n;
      await expect(escrow.connect(aliceOp).commitToNextPeriodFor(alice.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(alice.address, next, LOCKS[0], next)
        .and.to.emit(hook, "CommitRecorded")
        .withArgs(await escrow.getAddress(), alice.address, next);
      await advancePeriods(escrow, 2);
      await expect(escrow.connect(aliceOp).commitToNextPeriodFor(alice.address))
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, issuanceFrom(RESERVE));
    });

    it("reverts with NotOperator unless the caller is the named staker's confirmed operator", async function () {
      const fx = await loadFixture(stakedFixture);
      const cases: [typeof fx.alice, string][] = [
        [fx.stranger, fx.alice.address], // no operator at all
        [fx.alice, fx.alice.address], // the staker itself
        [fx.aliceOp, fx.bob.address], // another staker's operator
        [fx.aliceOp, ethers.ZeroAddress], // the zero staker has no operator
      ];
      const before = await snapshotState(fx.escrow, fx.token, fx.stakers);
      for (const [caller, staker] of cases) {
        await expect(fx.escrow.connect(caller).commitToNextPeriodFor(staker))
          .to.be.revertedWithCustomError(fx.escrow, "NotOperator")
          .withArgs(caller.address);
      }
      expect(await snapshotState(fx.escrow, fx.token, fx.stakers)).to.deep.equal(before);
    });

    it("reverts for a proposed operator not yet confirmed, and for the replaced one", async function () {
      const fx = await loadFixture(stakedFixture);
      await advancePeriods(fx.escrow, MIN_OPERATOR_PERIODS);
      await fx.escrow.connect(fx.alice).bondOperator(fx.stranger.address);
      for (const caller of [fx.stranger, fx.aliceOp]) {
        await expect(fx.escrow.connect(caller).commitToNextPeriodFor(fx.alice.address))
          .to.be.revertedWithCustomError(fx.escrow, "NotOperator")
          .withArgs(caller.address);
        await expect(fx.escrow.connect(caller).commitToNextPeriod())
          .to.be.revertedWithCustomError(fx.escrow, "NotOperator")
          .withArgs(caller.address);
      }
      await fx.escrow.connect(fx.stranger).confirmOperator(fx.alice.address);
      await expect(fx.escrow.connect(fx.stranger).commitToNextPeriodFor(fx.alice.address)).to.emit(
        fx.escrow,
        "CommitmentMade",
      );
    });
  });

  describe("rewards", function () {
    const ORDERS = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];

    it("split a period exactly in proportion to locked stake, whatever order stakers mint in", async function () {
      const total = LOCKS[0] + LOCKS[1] + LOCKS[2];
      const issuance = issuanceFrom(RESERVE);
      const expected = LOCKS.map((l) => share(l, issuance, total));
      for (const order of ORDERS) {
        const { escrow, stakers, period } = await loadFixture(committedFixture);
        expect(await escrow.issuanceOf(period)).to.equal(issuance);
        expect(await escrow.lockedPerPeriod(period)).to.equal(total);
        for (const i of order) {
          expect(await escrow.pendingReward(stakers[i].address)).to.equal(expected[i]);
          await expect(escrow.connect(stakers[i]).mint())
            .to.emit(escrow, "Minted")
            .withArgs(stakers[i].address, expected[i]);
        }
        for (let i = 0; i < 3; i++) {
          expect(await escrow.stakeOf(stakers[i].address)).to.equal(LOCKS[i] + expected[i]);
        }
      }
      // Rounding down leaves dust in the reserve, never a deficit.
      const sum = expected.reduce((a, b) => a + b, 0n);
      expect(sum).to.be.lessThanOrEqual(issuance);
      expect(issuance - sum).to.be.lessThan(3n);
    });

    it("pays a sole committer the whole issuance of the period", async function () {
      const { escrow, alice, aliceOp } = await loadFixture(stakedFixture);
      const period = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 2);
      await expect(escrow.connect(alice).mint())
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, await escrow.issuanceOf(period));
    });

    it("are minted by the next commit, for the periods that are fully past only", async function () {
      const { escrow, alice, aliceOp, bobOp } = await loadFixture(stakedFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      // p is the current period: not yet payable.
      expect(await escrow.pendingReward(alice.address)).to.equal(0n);
      await expect(escrow.connect(aliceOp).commitToNextPeriod()).not.to.emit(escrow, "Minted");
      await advancePeriods(escrow, 1);
      const reward = share(LOCKS[0], await escrow.issuanceOf(p), LOCKS[0] + LOCKS[1]);
      await expect(escrow.connect(aliceOp).commitToNextPeriod())
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, reward);
      expect(await escrow.stakeOf(alice.address)).to.equal(LOCKS[0] + reward);
      expect(await escrow.getCommittedPeriods(alice.address)).to.deep.equal([p + 1n, p + 2n]);
    });

    it("nothing for a skipped period", async function () {
      const { escrow, alice, aliceOp, bobOp } = await loadFixture(stakedFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      // Alice commits to p and p+2, skipping p+1; Bob commits to all three.
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(bobOp).commitToNextPeriod();
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 2);
      expect(await escrow.lockedPerPeriod(p + 1n)).to.equal(LOCKS[1]);
      const both = LOCKS[0] + LOCKS[1];
      const expected =
        share(LOCKS[0], await escrow.issuanceOf(p), both) + share(LOCKS[0], await escrow.issuanceOf(p + 2n), both);
      // Her commit to p+2 already minted p; this mint pays p+2.
      await escrow.connect(alice).mint();
      expect((await escrow.stakeOf(alice.address)) - LOCKS[0]).to.equal(expected);
    });

    it("leave a period's issuance unallocated when no one commits to it", async function () {
      const { escrow, aliceOp } = await loadFixture(stakedFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 3);
      expect(await escrow.issuanceOf(p + 1n)).to.equal(0n);
      expect(await escrow.issuanceOf(p + 2n)).to.equal(0n);
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE - issuanceFrom(RESERVE));
    });

    it("include a lock added during a committed period, for that period too", async function () {
      const { escrow, alice, bob, aliceOp, bobOp } = await loadFixture(stakedFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(alice).deposit(kms(500));
      await escrow.connect(alice).lock(kms(500), 0n);
      await advancePeriods(escrow, 1);
      const total = LOCKS[0] + kms(500) + LOCKS[1];
      expect(await escrow.lockedPerPeriod(p)).to.equal(total);
      const iss = await escrow.issuanceOf(p);
      await expect(escrow.connect(alice).mint())
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, share(LOCKS[0] + kms(500), iss, total));
      await expect(escrow.connect(bob).mint())
        .to.emit(escrow, "Minted")
        .withArgs(bob.address, share(LOCKS[1], iss, total));
    });

    it("are paid before a lock change, at the weight they were committed with", async function () {
      const { escrow, alice, aliceOp, bobOp } = await loadFixture(stakedFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 2);
      await escrow.connect(alice).deposit(kms(9_000));
      const reward = share(LOCKS[0], await escrow.issuanceOf(p), LOCKS[0] + LOCKS[1]);
      await expect(escrow.connect(alice).lock(kms(9_000), 0n))
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, reward);
    });

    it("are not minted twice, and mint without a reward reverts", async function () {
      const { escrow, alice, stranger } = await loadFixture(committedFixture);
      await escrow.connect(alice).mint();
      await expect(escrow.connect(alice).mint())
        .to.be.revertedWithCustomError(escrow, "NothingToMint")
        .withArgs(alice.address);
      await expect(escrow.connect(stranger).mint())
        .to.be.revertedWithCustomError(escrow, "NothingToMint")
        .withArgs(stranger.address);
    });

    it("take from the reserve only what is minted", async function () {
      const { escrow, token, stakers } = await loadFixture(committedFixture);
      const escrowAddress = await escrow.getAddress();
      const stakes = async () => {
        let sum = 0n;
        for (const s of stakers) sum += await escrow.stakeOf(s.address);
        return sum;
      };
      const reserve = async () => (await token.balanceOf(escrowAddress)) - (await stakes());
      expect(await reserve()).to.equal(RESERVE);
      let minted = 0n;
      for (const s of stakers) {
        const before = await escrow.stakeOf(s.address);
        await escrow.connect(s).mint();
        minted += (await escrow.stakeOf(s.address)) - before;
        expect(await reserve()).to.equal(RESERVE - minted);
      }
      expect(await token.balanceOf(escrowAddress)).to.equal(RESERVE + LOCKS[0] + LOCKS[1] + LOCKS[2]);
    });
  });

  describe("slash", function () {
    async function slashFixture() {
      const fx = await stakedFixture();
      await fx.escrow.setAdjudicator(fx.adjudicator.address);
      return fx;
    }

    it("takes unlocked stake first, then the lock, and lowers the committed periods by the same", async function () {
      const { escrow, token, alice, bob, aliceOp, bobOp, adjudicator, reporter } = await loadFixture(slashFixture);
      // Alice committed to the current and the next period, Bob to the next one.
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      const c = await escrow.getCurrentPeriod();
      await escrow.connect(alice).deposit(kms(100));
      const reserveBefore = await escrow.unallocatedReserve();
      await expect(escrow.connect(adjudicator).slash(alice.address, kms(300), reporter.address, kms(30)))
        .to.emit(escrow, "Slashed")
        .withArgs(alice.address, kms(300), reporter.address, kms(30), 1n)
        .and.not.to.emit(token, "Transfer");
      expect(await escrow.stakeOf(alice.address)).to.equal(LOCKS[0] - kms(200));
      expect((await escrow.getLock(alice.address))[0]).to.equal(LOCKS[0] - kms(200));
      expect(await escrow.lockedPerPeriod(c)).to.equal(LOCKS[0] - kms(200));
      expect(await escrow.lockedPerPeriod(c + 1n)).to.equal(LOCKS[0] - kms(200) + LOCKS[1]);
      // Held until settled: then the reporter is paid and the rest returns to the reserve.
      expect(await escrow.heldPenalties()).to.equal(kms(300));
      expect(await escrow.unallocatedReserve()).to.equal(reserveBefore);
      await expect(escrow.connect(adjudicator).settlePenalty(reporter.address, kms(300), kms(30)))
        .to.emit(escrow, "PenaltySettled")
        .withArgs(reporter.address, kms(300), kms(30))
        .and.to.emit(token, "Transfer")
        .withArgs(await escrow.getAddress(), reporter.address, kms(30));
      expect(await escrow.heldPenalties()).to.equal(0n);
      expect(await escrow.unallocatedReserve()).to.equal(reserveBefore + kms(270));
      expect(await token.balanceOf(reporter.address)).to.equal(kms(30));
      // Bob's share of c+1 is computed against the reduced total, and the two shares fit the issuance.
      await advancePeriods(escrow, 2);
      const iss = await escrow.issuanceOf(c + 1n);
      const total = LOCKS[0] - kms(200) + LOCKS[1];
      const bobReward = share(LOCKS[1], iss, total);
      const aliceReward = share(LOCKS[0] - kms(200), iss, total) + (await escrow.issuanceOf(c));
      await expect(escrow.connect(bob).mint()).to.emit(escrow, "Minted").withArgs(bob.address, bobReward);
      await expect(escrow.connect(alice).mint()).to.emit(escrow, "Minted").withArgs(alice.address, aliceReward);
      expect(bobReward + aliceReward - iss).to.be.lessThanOrEqual(await escrow.issuanceOf(c));
    });

    it("mints the past committed periods at the old weight before cutting", async function () {
      const { escrow, alice, aliceOp, bobOp, adjudicator, reporter } = await loadFixture(slashFixture);
      const p = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, 2);
      const reward = share(LOCKS[0], await escrow.issuanceOf(p), LOCKS[0] + LOCKS[1]);
      await expect(escrow.connect(adjudicator).slash(alice.address, kms(10), reporter.address, 0n))
        .to.emit(escrow, "Minted")
        .withArgs(alice.address, reward);
      expect(await escrow.lockedPerPeriod(p)).to.equal(LOCKS[0] + LOCKS[1]);
      expect(await escrow.stakeOf(alice.address)).to.equal(LOCKS[0] + reward - kms(10));
    });

    it("caps the penalty at the stake and the reward at the penalty", async function () {
      const { escrow, token, alice, adjudicator, reporter } = await loadFixture(slashFixture);
      const reserveBefore = await escrow.unallocatedReserve();
      await expect(escrow.connect(adjudicator).slash(alice.address, kms(5_000), reporter.address, kms(4_000)))
        .to.emit(escrow, "Slashed")
        .withArgs(alice.address, LOCKS[0], reporter.address, LOCKS[0], 1n);
      expect(await escrow.stakeOf(alice.address)).to.equal(0n);
      expect(await escrow.heldPenalties()).to.equal(LOCKS[0]);
      // Nothing left to take: a further slash takes nothing.
      await expect(escrow.connect(adjudicator).slash(alice.address, kms(1), reporter.address, 0n))
        .to.emit(escrow, "Slashed")
        .withArgs(alice.address, 0n, reporter.address, 0n, 2n);
      // Settling never pays out more than is held.
      await expect(escrow.connect(adjudicator).settlePenalty(reporter.address, LOCKS[0] + 1n, 0n))
        .to.be.revertedWithCustomError(escrow, "PenaltyExceedsHeld")
        .withArgs(LOCKS[0] + 1n, LOCKS[0]);
      await escrow.connect(adjudicator).settlePenalty(reporter.address, LOCKS[0], LOCKS[0]);
      expect(await token.balanceOf(reporter.address)).to.equal(LOCKS[0]);
      expect(await escrow.unallocatedReserve()).to.equal(reserveBefore);
      expect(await escrow.heldPenalties()).to.equal(0n);
    });

    it("returns the issuance of a period left without stake to the reserve", async function () {
      const { escrow, alice, aliceOp, adjudicator, reporter } = await loadFixture(slashFixture);
      const next = (await escrow.getCurrentPeriod()) + 1n;
      await escrow.connect(aliceOp).commitToNextPeriod();
      const issuance = await escrow.issuanceOf(next);
      await expect(escrow.connect(adjudicator).slash(alice.address, LOCKS[0], reporter.address, 0n))
        .to.emit(escrow, "IssuanceReturned")
        .withArgs(next, issuance);
      expect(await escrow.lockedPerPeriod(next)).to.equal(0n);
      expect(await escrow.issuanceOf(next)).to.equal(0n);
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE);
      expect(await escrow.heldPenalties()).to.equal(LOCKS[0]);
      await escrow.connect(adjudicator).settlePenalty(reporter.address, LOCKS[0], 0n);
      expect(await escrow.unallocatedReserve()).to.equal(RESERVE + LOCKS[0]);
      await advancePeriods(escrow, 2);
      expect(await escrow.pendingReward(alice.address)).to.equal(0n);
    });

    describe("offence counter (kept for the adjudicator in the staker's record)", function () {
      it("counts one offence per slash and per recorded offence, without touching the stake on a record", async function () {
        const { escrow, alice, bob, adjudicator, reporter } = await loadFixture(slashFixture);
        expect(await escrow.slashingStateOf(alice.address)).to.deep.equal([LOCKS[0], 0n]);
        await escrow.connect(adjudicator).slash(alice.address, kms(10), reporter.address, 0n);
        expect(await escrow.offencesOf(alice.address)).to.equal(1n);
        await expect(escrow.connect(adjudicator).recordOffence(alice.address))
          .to.emit(escrow, "OffenceRecorded")
          .withArgs(alice.address, 2n);
        expect(await escrow.slashingStateOf(alice.address)).to.deep.equal([LOCKS[0] - kms(10), 2n]);
        expect(await escrow.offencesOf(bob.address)).to.equal(0n);
        // The counter shares the slot with the stake and the commitments: none of them moved.
        const info = await escrow.getStakerInfo(alice.address);
        expect(info.stake).to.equal(LOCKS[0] - kms(10));
        expect(info.lockedValue).to.equal(LOCKS[0] - kms(10));
      });

      it("refuses to record an offence for any caller but the adjudicator", async function () {
        const { escrow, alice, stranger } = await loadFixture(slashFixture);
        await expect(escrow.connect(stranger).recordOffence(alice.address))
          .to.be.revertedWithCustomError(escrow, "NotAdjudicator")
          .withArgs(stranger.address);
        expect(await escrow.offencesOf(alice.address)).to.equal(0n);
      });
    });

    describe("reverts", function () {
      it("for any caller but the adjudicator", async function () {
        const { escrow, alice, stranger } = await loadFixture(slashFixture);
        await expect(escrow.connect(stranger).slash(alice.address, 1n, stranger.address, 0n))
          .to.be.revertedWithCustomError(escrow, "NotAdjudicator")
          .withArgs(stranger.address);
      });
      it("on a reward above the penalty", async function () {
        const { escrow, alice, adjudicator, reporter } = await loadFixture(slashFixture);
        await expect(escrow.connect(adjudicator).slash(alice.address, 1n, reporter.address, 2n))
          .to.be.revertedWithCustomError(escrow, "RewardExceedsPenalty")
          .withArgs(2n, 1n);
      });
      it("on a reward for the zero address", async function () {
        const { escrow, alice, adjudicator } = await loadFixture(slashFixture);
        await expect(
          escrow.connect(adjudicator).slash(alice.address, 2n, ethers.ZeroAddress, 1n),
        ).to.be.revertedWithCustomError(escrow, "ZeroAddress");
        expect(await escrow.stakeOf(alice.address)).to.equal(LOCKS[0]);
      });
      it("settlePenalty: for any caller but the adjudicator, a reward above the penalty or for nobody", async function () {
        const { escrow, alice, adjudicator, reporter, stranger } = await loadFixture(slashFixture);
        await escrow.connect(adjudicator).slash(alice.address, 2n, reporter.address, 1n);
        await expect(escrow.connect(stranger).settlePenalty(stranger.address, 2n, 1n))
          .to.be.revertedWithCustomError(escrow, "NotAdjudicator")
          .withArgs(stranger.address);
        await expect(escrow.connect(adjudicator).settlePenalty(reporter.address, 1n, 2n))
          .to.be.revertedWithCustomError(escrow, "RewardExceedsPenalty")
          .withArgs(2n, 1n);
        await expect(
          escrow.connect(adjudicator).settlePenalty(ethers.ZeroAddress, 2n, 1n),
        ).to.be.revertedWithCustomError(escrow, "ZeroAddress");
        // A settlement with no reward only returns the penalty to the reserve.
        const reserveBefore = await escrow.unallocatedReserve();
        await expect(escrow.connect(adjudicator).settlePenalty(ethers.ZeroAddress, 2n, 0n))
          .to.emit(escrow, "PenaltySettled")
          .withArgs(ethers.ZeroAddress, 2n, 0n);
        expect(await escrow.unallocatedReserve()).to.equal(reserveBefore + 2n);
      });
    });
  });
});
