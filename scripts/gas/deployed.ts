// The deployed configuration every gas figure is measured on: the Ignition module `ignition/modules/KMS.ts`
// (token, escrow with its mining reserve, NodeDirectory, PolicyManager and Adjudicator wired to the escrow), plus
// the helpers the gas sections share to add nodes, fund accounts and move between periods.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { HDNodeWallet } from "ethers";
import KMSModule, { DEFAULT_MIN_STAKE, DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { randomPolicyId } from "../../src/policy";

/** The contracts of one Ignition deployment, and the deployer (account 0, holder of the supply). */
export interface Deployed {
  token: KMSToken;
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  adjudicator: Adjudicator;
  nodeDirectory: NodeDirectory;
  deployer: HardhatEthersSigner;
}

/** A staker and its confirmed operator (a key that can sign, as a node's attestations need). */
export interface Node {
  staker: HardhatEthersSigner;
  operator: HDNodeWallet;
}

/** Deploys the system through the Ignition module with its defaults. */
export async function deployKMS(hre: HardhatRuntimeEnvironment): Promise<Deployed> {
  const [deployer] = await hre.ethers.getSigners();
  const d = await hre.ignition.deploy(KMSModule);
  return {
    token: d.token as unknown as KMSToken,
    escrow: d.escrow as unknown as StakingEscrow,
    policyManager: d.policyManager as unknown as PolicyManager,
    adjudicator: d.adjudicator as unknown as Adjudicator,
    nodeDirectory: d.nodeDirectory as unknown as NodeDirectory,
    deployer,
  };
}

/** A fresh account with ETH for gas and `kms` KMS from the deployer (none: it never held KMS). */
export async function newAccount(hre: HardhatRuntimeEnvironment, d: Deployed, kms = 0n): Promise<HardhatEthersSigner> {
  const address = hre.ethers.Wallet.createRandom().address;
  await hre.network.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]);
  const signer = await hre.ethers.getImpersonatedSigner(address);
  if (kms > 0n) await (await d.token.connect(d.deployer).transfer(address, kms)).wait();
  return signer;
}

/** A fresh key connected to the chain, with ETH for gas and `kms` KMS from the deployer. */
export async function newWallet(hre: HardhatRuntimeEnvironment, d: Deployed, kms = 0n): Promise<HDNodeWallet> {
  const wallet = hre.ethers.Wallet.createRandom().connect(hre.ethers.provider);
  await hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
  if (kms > 0n) await (await d.token.connect(d.deployer).transfer(wallet.address, kms)).wait();
  return wallet;
}

/** A new staker with `stake` deposited and locked for `periods`, and its confirmed operator (a fresh key). */
export async function newNode(
  hre: HardhatRuntimeEnvironment,
  d: Deployed,
  stake = DEFAULT_MIN_STAKE * 2n,
  periods = 365n,
): Promise<Node> {
  const staker = await newAccount(hre, d, stake);
  const operator = await newWallet(hre, d);
  await (await d.token.connect(staker).approve(await d.escrow.getAddress(), stake)).wait();
  await (await d.escrow.connect(staker).depositAndLock(stake, periods)).wait();
  await (await d.escrow.connect(staker).bondOperator(operator.address)).wait();
  await (await d.escrow.connect(operator).confirmOperator(staker.address)).wait();
  return { staker, operator };
}

/** Moves the chain to the start of the next period plus a minute (a batch of transactions stays inside it). */
export async function nextPeriod(hre: HardhatRuntimeEnvironment, d: Deployed): Promise<void> {
  const next = (await d.escrow.getCurrentPeriod()) + 1n;
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(next * DEFAULT_PERIOD_DURATION + 60n)]);
  await hre.network.provider.send("evm_mine", []);
}

/** Commits each node to the next period, in order, as the node daemon does (naming the staker). */
export async function commitAll(d: Deployed, nodes: Node[]): Promise<void> {
  for (const node of nodes) {
    await (await d.escrow.connect(node.operator).commitToNextPeriodFor(node.staker.address)).wait();
  }
}

/** A funded policy payer: 1,000,000 KMS, the PolicyManager approved for all of it. */
export async function newPayer(hre: HardhatRuntimeEnvironment, d: Deployed): Promise<HardhatEthersSigner> {
  const payer = await newAccount(hre, d, 10n ** 24n);
  await (await d.token.connect(payer).approve(await d.policyManager.getAddress(), hre.ethers.MaxUint256)).wait();
  return payer;
}

/** Creates `count` policies of `payer` over the sorted `stakers`, `feeRate` per node and period, to `endPeriod`. */
export async function createPolicies(
  d: Deployed,
  payer: HardhatEthersSigner,
  stakers: string[],
  endPeriod: bigint,
  feeRate: bigint,
  count = 1,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await (
      await d.policyManager.connect(payer).createPolicy(randomPolicyId(), payer.address, stakers, endPeriod, feeRate)
    ).wait();
  }
}
