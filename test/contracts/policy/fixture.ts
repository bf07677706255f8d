// Shared fixture of the PolicyManager tests: token, a mock escrow (until the real one is wired in), the manager,
// five bonded and locked nodes in ascending address order, and Alice funded and approved.
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { KMSToken, PolicyEscrowMock, PolicyManager } from "../../../typechain-types";
import type { PolicyRecord } from "../../../src/policy";

export const DAY = 86_400n;
export const SUPPLY = 10n ** 27n;
export const MIN_RATE = 10n ** 9n;
export const MAX_RATE = 10n ** 21n;
export const RATE = 10n ** 15n;
export const UNIT = 10n ** 9n;
export const LOCKED = 10n ** 21n;
export const ALICE_FUNDS = 10n ** 24n;

export interface PolicyContext {
  token: KMSToken;
  escrow: PolicyEscrowMock;
  pm: PolicyManager;
  deployer: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  nodes: HardhatEthersSigner[];
  operators: HardhatEthersSigner[];
  lockEnd: bigint;
}

export async function deployPolicyFixture(): Promise<PolicyContext> {
  const signers = await ethers.getSigners();
  const [deployer, alice, bob, relayer, stranger] = signers;
  const nodes = signers.slice(5, 10).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  const operators = signers.slice(10, 15);
  const token = await ethers.deployContract("KMSToken", [deployer.address, SUPPLY]);
  const escrow = await ethers.deployContract("PolicyEscrowMock", [token, DAY]);
  const pm = await ethers.deployContract("PolicyManager", [escrow, deployer.address, MIN_RATE, MAX_RATE]);
  await escrow.setPolicyManager(pm);
  // Start at the beginning of a period so a test's few transactions never cross a boundary by accident.
  const now = BigInt(await time.latest());
  await time.increaseTo((now / DAY + 1n) * DAY + 10n);
  const lockEnd = now / DAY + 1_000n;
  for (let i = 0; i < nodes.length; i++) {
    await escrow.setOperator(nodes[i].address, operators[i].address);
    await escrow.setLock(nodes[i].address, LOCKED, lockEnd);
  }
  await token.transfer(alice.address, ALICE_FUNDS);
  await token.connect(alice).approve(pm, ethers.MaxUint256);
  return { token, escrow, pm, deployer, alice, bob, relayer, stranger, nodes, operators, lockEnd };
}

export async function currentPeriod(pm: PolicyManager): Promise<bigint> {
  return pm.getCurrentPeriod();
}

/** Moves the chain `periods` periods on (same offset within the period). */
export async function advance(periods: bigint | number = 1n): Promise<void> {
  await time.increase(DAY * BigInt(periods));
}

/** Creates a policy from Alice and returns the record the contract committed to. */
export async function createPolicy(
  ctx: PolicyContext,
  options: { id: string; nodes: HardhatEthersSigner[]; periods: bigint; rate?: bigint; owner?: string },
): Promise<PolicyRecord> {
  const start = await ctx.pm.getCurrentPeriod();
  const nodes = options.nodes.map((n) => n.address);
  const feeRate = options.rate ?? RATE;
  const owner = options.owner ?? ctx.alice.address;
  await (
    await ctx.pm.connect(ctx.alice).createPolicy(options.id, owner, nodes, start + options.periods, feeRate)
  ).wait();
  return { owner, startPeriod: start, endPeriod: start + options.periods, refundedThrough: start, feeRate, nodes };
}

/** A 16-byte id made from a small number, readable in failures. */
export function pid(n: number): string {
  return ethers.zeroPadValue(ethers.toBeHex(n), 16);
}
