// Gas of StakingEscrow's operations, including commit+mint with 1, 100 and 1,000 stakers to show it is flat.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { GasRow, GasSection } from "./types";
import { deployTokenAndEscrow } from "./types";
import { alignToBlock, gasOf } from "./types";
import { signPermit } from "../../src/token/permit";
import {
  DEFAULT_MAX_FEE_RATE,
  DEFAULT_MIN_FEE_RATE,
  DEFAULT_MIN_STAKE,
  DEFAULT_PERIOD_DURATION,
} from "../../ignition/modules/KMS";
import type { KMSToken, StakingEscrow } from "../../typechain-types";

const STAKE = DEFAULT_MIN_STAKE * 2n;
const LOCK_PERIODS = 365n;

async function deploy(hre: HardhatRuntimeEnvironment) {
  const { ethers } = hre;
  const [deployer] = await ethers.getSigners();
  const { token, escrow } = await deployTokenAndEscrow(hre, deployer);
  return { token, escrow, deployer };
}

/** A fresh funded account whose transactions Hardhat signs without a key (impersonation). */
async function newAccount(hre: HardhatRuntimeEnvironment, token: KMSToken, kms: bigint): Promise<HardhatEthersSigner> {
  const { ethers } = hre;
  const address = ethers.Wallet.createRandom().address;
  await hre.network.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]);
  const signer = await ethers.getImpersonatedSigner(address);
  if (kms > 0n) await (await token.transfer(address, kms)).wait();
  return signer;
}

/** Moves the chain to the start of the next period (plus a minute, so a batch of transactions stays inside). */
async function nextPeriod(hre: HardhatRuntimeEnvironment, escrow: StakingEscrow): Promise<void> {
  const next = (await escrow.getCurrentPeriod()) + 1n;
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(next * DEFAULT_PERIOD_DURATION + 60n)]);
  await hre.network.provider.send("evm_mine", []);
}

interface Node {
  staker: HardhatEthersSigner;
  operator: HardhatEthersSigner;
}

async function newNode(hre: HardhatRuntimeEnvironment, token: KMSToken, escrow: StakingEscrow): Promise<Node> {
  const staker = await newAccount(hre, token, STAKE);
  const operator = await newAccount(hre, token, 0n);
  await (await token.connect(staker).approve(await escrow.getAddress(), STAKE)).wait();
  await (await escrow.connect(staker).depositAndLock(STAKE, LOCK_PERIODS)).wait();
  await (await escrow.connect(staker).bondOperator(operator.address)).wait();
  await (await escrow.connect(operator).confirmOperator(staker.address)).wait();
  return { staker, operator };
}

/**
 * Commit+mint in steady state: `count` nodes commit every period; the measured node commits last, minting the
 * one past period it committed to. Also measures the first commit of a period (it allocates the issuance and
 * writes a new period slot), made by another node.
 */
async function commitMint(
  hre: HardhatRuntimeEnvironment,
  count: number,
  withPolicyManager = false,
): Promise<{ first: bigint; later: bigint }> {
  const { token, escrow, deployer } = await deploy(hre);
  // The measured commitments stay inside one 16-period block of the PolicyManager's commitment bits.
  await alignToBlock(hre, DEFAULT_PERIOD_DURATION);
  if (withPolicyManager) {
    const manager = await hre.ethers.deployContract("PolicyManager", [
      await escrow.getAddress(),
      deployer.address,
      DEFAULT_MIN_FEE_RATE,
      DEFAULT_MAX_FEE_RATE,
    ]);
    await (await escrow.setPolicyManager(await manager.getAddress())).wait();
  }
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await newNode(hre, token, escrow));
  for (let round = 0; round < 2; round++) {
    for (const node of nodes) await (await escrow.connect(node.operator).commitToNextPeriod()).wait();
    await nextPeriod(hre, escrow);
  }
  const first = await gasOf(escrow.connect(nodes[0].operator).commitToNextPeriod());
  for (const node of nodes.slice(1, -1)) await (await escrow.connect(node.operator).commitToNextPeriod()).wait();
  const later = count > 1 ? await gasOf(escrow.connect(nodes[count - 1].operator).commitToNextPeriod()) : 0n;
  return { first, later };
}

export const stakingGas: GasSection = {
  title: "StakingEscrow",
  async measure(hre) {
    const { ethers } = hre;
    const { token, escrow } = await deploy(hre);
    const escrowAddress = await escrow.getAddress();
    const rows: GasRow[] = [];

    // Deposits of new stakers.
    const a = await newAccount(hre, token, STAKE * 3n);
    await (await token.connect(a).approve(escrowAddress, STAKE * 3n)).wait();
    rows.push({ operation: "deposit (new staker)", gas: await gasOf(escrow.connect(a).deposit(STAKE)) });
    const b = await newAccount(hre, token, STAKE * 3n);
    await (await token.connect(b).approve(escrowAddress, STAKE * 3n)).wait();
    rows.push({
      operation: "depositAndLock (new staker: first deposit+lock)",
      gas: await gasOf(escrow.connect(b).depositAndLock(STAKE, LOCK_PERIODS)),
      target: "≤ 150k (NuCypher 247–297k)",
    });
    // Permits need a real key: an impersonated account cannot sign typed data.
    const c = ethers.Wallet.createRandom().connect(ethers.provider);
    await hre.network.provider.send("hardhat_setBalance", [c.address, "0x56BC75E2D63100000"]);
    await (await token.transfer(c.address, STAKE)).wait();
    const deadline = BigInt(Math.floor(Date.now() / 1000)) + 10n ** 9n;
    const signature = await signPermit(token, c, { spender: escrowAddress, value: STAKE, deadline, nonce: 0n });
    rows.push({
      operation: "depositAndLockWithPermit (new staker)",
      gas: await gasOf(
        escrow
          .connect(c)
          .depositAndLockWithPermit(STAKE, LOCK_PERIODS, deadline, signature.v, signature.r, signature.s),
      ),
    });
    rows.push({
      operation: "lock (existing staker, new lock)",
      gas: await gasOf(escrow.connect(a).lock(STAKE, LOCK_PERIODS)),
    });
    await (await escrow.connect(b).deposit(STAKE)).wait();
    rows.push({ operation: "lock (add to a lock)", gas: await gasOf(escrow.connect(b).lock(STAKE, 0n)) });
    rows.push({ operation: "prolong", gas: await gasOf(escrow.connect(b).prolong(10n)) });
    const operator = await newAccount(hre, token, 0n);
    rows.push({
      operation: "bondOperator (first: a proposal)",
      gas: await gasOf(escrow.connect(b).bondOperator(operator.address)),
    });
    rows.push({
      operation: "confirmOperator (by the operator key)",
      gas: await gasOf(escrow.connect(operator).confirmOperator(b.address)),
    });

    // Commitments of one node across periods.
    rows.push({
      operation: "commitToNextPeriod (first commit of a period, no mint)",
      gas: await gasOf(escrow.connect(operator).commitToNextPeriod()),
    });
    const other = await newNode(hre, token, escrow);
    await nextPeriod(hre, escrow);
    await (await escrow.connect(other.operator).commitToNextPeriod()).wait();
    rows.push({
      operation: "commitToNextPeriod (bare: later commit of a period, nothing past to mint)",
      gas: await gasOf(escrow.connect(operator).commitToNextPeriod()),
      target: "≤ 50k",
    });
    // `b` committed to the next two periods; three periods later both are past.
    await nextPeriod(hre, escrow);
    await nextPeriod(hre, escrow);
    await nextPeriod(hre, escrow);
    await (await escrow.connect(other.operator).commitToNextPeriod()).wait();
    rows.push({
      operation: "commitToNextPeriod + mint of two past periods (later commit)",
      gas: await gasOf(escrow.connect(operator).commitToNextPeriod()),
      target: "≤ 75k (NuCypher 166–418k)",
    });
    await nextPeriod(hre, escrow);
    await (await escrow.connect(operator).commitToNextPeriod()).wait();
    await nextPeriod(hre, escrow);
    await nextPeriod(hre, escrow);
    rows.push({ operation: "mint (two past periods)", gas: await gasOf(escrow.connect(b).mint()) });
    rows.push({ operation: "withdraw (part of the unlocked stake)", gas: await gasOf(escrow.connect(b).withdraw(1n)) });
    const [, adjudicator, reporter] = await ethers.getSigners();
    await (await escrow.setAdjudicator(adjudicator.address)).wait();
    await (await escrow.connect(other.operator).commitToNextPeriod()).wait();
    rows.push({
      operation: "slash (lock and a committed period reduced, reporter paid)",
      gas: await gasOf(escrow.connect(adjudicator).slash(other.staker.address, STAKE / 2n, reporter.address, 1000n)),
    });

    for (const count of [1, 100, 1000]) {
      const snapshot = await hre.network.provider.send("evm_snapshot", []);
      const { first, later } = await commitMint(hre, count);
      await hre.network.provider.send("evm_revert", [snapshot]);
      rows.push({
        operation: `commit+mint, steady state, ${count} staker${count > 1 ? "s" : ""}: first commit of the period`,
        gas: first,
        target: "≤ 75k",
        note: "allocates the issuance, new period slot",
      });
      if (count > 1) {
        rows.push({
          operation: `commit+mint, steady state, ${count} stakers: last commit of the period`,
          gas: later,
          target: "≤ 75k (NuCypher 166–418k)",
        });
      }
    }
    // The same with the real PolicyManager's onCommit hook (nodes serving no policy yet).
    {
      const snapshot = await hre.network.provider.send("evm_snapshot", []);
      const { first, later } = await commitMint(hre, 100, true);
      await hre.network.provider.send("evm_revert", [snapshot]);
      rows.push(
        {
          operation: "commit+mint + PolicyManager.onCommit, 100 stakers: first commit of the period",
          gas: first,
          target: "≤ 75k",
        },
        {
          operation: "commit+mint + PolicyManager.onCommit, 100 stakers: last commit of the period",
          gas: later,
          target: "≤ 75k (NuCypher 166–418k)",
        },
      );
    }
    return rows;
  },
};
