// Shared fixtures and helpers of the StakingEscrow tests.
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { StakingEscrow } from "../../../typechain-types";
import { DEFAULT_ISSUANCE_RATE } from "../../../ignition/modules/KMS";

export const DAY = 86_400n;
export const SUPPLY = 1_000_000_000n * 10n ** 18n;
export const RESERVE = 750_000_000n * 10n ** 18n;
export const MIN_STAKE = 1_000n * 10n ** 18n;
export const MAX_STAKE = 1_000_000n * 10n ** 18n;
export const MIN_LOCK = 5n;
export const MIN_OPERATOR_PERIODS = 3n;
export const RATE = DEFAULT_ISSUANCE_RATE;
export const DENOMINATOR = 10n ** 18n;

/** `n` KMS in wei. */
export function kms(n: number | bigint): bigint {
  return BigInt(n) * 10n ** 18n;
}

/** The issuance the escrow allocates from `unallocated`: rounded down. */
export function issuanceFrom(unallocated: bigint): bigint {
  return (unallocated * RATE) / DENOMINATOR;
}

/** One staker's share of a period, rounded down as `Math.mulDiv` does. */
export function share(locked: bigint, issuance: bigint, total: bigint): bigint {
  return (locked * issuance) / total;
}

/** Moves time to 100 s into the period `n` periods after the current one. */
export async function advancePeriods(escrow: StakingEscrow, n: bigint | number = 1n): Promise<void> {
  const current = await escrow.getCurrentPeriod();
  await time.increaseTo((current + BigInt(n)) * DAY + 100n);
}

/** Token, funded escrow, three stakers with tokens and approvals, their operators; at a period's start. */
export async function deployEscrowFixture() {
  const [owner, alice, bob, carol, aliceOp, bobOp, carolOp, adjudicator, reporter, stranger] =
    await ethers.getSigners();
  const token = await ethers.deployContract("KMSToken", [owner.address, SUPPLY]);
  const escrow = await ethers.deployContract("StakingEscrow", [
    await token.getAddress(),
    DAY,
    MIN_STAKE,
    MAX_STAKE,
    MIN_LOCK,
    MIN_OPERATOR_PERIODS,
    RATE,
    owner.address,
  ]);
  await token.approve(await escrow.getAddress(), RESERVE);
  await escrow.fundReserve(RESERVE);
  for (const staker of [alice, bob, carol]) {
    await token.transfer(staker.address, kms(10_000_000));
    await token.connect(staker).approve(await escrow.getAddress(), ethers.MaxUint256);
  }
  await advancePeriods(escrow, 1);
  return { token, escrow, owner, alice, bob, carol, aliceOp, bobOp, carolOp, adjudicator, reporter, stranger };
}

/** Locks of 1,000 / 2,000 / 4,000 KMS + 1 wei (to exercise rounding) for 20 periods, operators bonded. */
export const LOCKS = [kms(1_000), kms(2_000), kms(4_000) + 1n];
export const LOCK_PERIODS = 20n;

export async function stakedFixture() {
  const fx = await deployEscrowFixture();
  const { escrow, alice, bob, carol, aliceOp, bobOp, carolOp } = fx;
  const stakers = [alice, bob, carol];
  const operators = [aliceOp, bobOp, carolOp];
  for (let i = 0; i < 3; i++) {
    await escrow.connect(stakers[i]).depositAndLock(LOCKS[i], LOCK_PERIODS);
    await escrow.connect(stakers[i]).bondOperator(operators[i].address);
    await escrow.connect(operators[i]).confirmOperator(stakers[i].address);
  }
  return { ...fx, stakers, operators };
}

/** All three stakers committed to the next period P, then time moved two periods on: P is fully past. */
export async function committedFixture() {
  const fx = await stakedFixture();
  const { escrow, operators } = fx;
  const unallocatedBefore = await escrow.unallocatedReserve();
  const period = (await escrow.getCurrentPeriod()) + 1n;
  for (const op of operators) await escrow.connect(op).commitToNextPeriod();
  await advancePeriods(escrow, 2);
  return { ...fx, period, unallocatedBefore };
}
