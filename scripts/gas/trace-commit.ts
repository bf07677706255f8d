// `npx hardhat run scripts/gas/trace-commit.ts`: traces the commitments the gas targets are about, with the
// PolicyManager hook and nodes serving a policy: a bare commit (nothing past to mint), a later commit+mint and
// the first commit+mint of a period.
import hre from "hardhat";
import { traceGas } from "./trace";
import { deployTokenAndEscrow } from "./types";
import { DEFAULT_MIN_STAKE, DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";
import type { PolicyManager } from "../../typechain-types";
import { randomPolicyId, sortNodes } from "../../src/policy";

async function main(): Promise<void> {
  const { ethers } = hre;
  const [deployer, alice, ...accounts] = await ethers.getSigners();
  const { token, escrow } = await deployTokenAndEscrow(hre, deployer);
  const pm = (await ethers.deployContract("PolicyManager", [
    await escrow.getAddress(),
    deployer.address,
    1n,
    10n ** 24n,
  ])) as unknown as PolicyManager;
  await (await escrow.setPolicyManager(await pm.getAddress())).wait();
  const nodes: { staker: (typeof accounts)[number]; operator: (typeof accounts)[number] }[] = [];
  for (let i = 0; i < 4; i++) {
    const staker = accounts[2 * i];
    const operator = accounts[2 * i + 1];
    await (await token.transfer(staker.address, DEFAULT_MIN_STAKE * 2n)).wait();
    await (await token.connect(staker).approve(await escrow.getAddress(), DEFAULT_MIN_STAKE * 2n)).wait();
    await (await escrow.connect(staker).depositAndLock(DEFAULT_MIN_STAKE * 2n, 365n)).wait();
    await (await escrow.connect(staker).bondOperator(operator.address)).wait();
    nodes.push({ staker, operator });
  }
  await (await token.transfer(alice.address, 10n ** 24n)).wait();
  await (await token.connect(alice).approve(await pm.getAddress(), ethers.MaxUint256)).wait();
  const list = sortNodes(nodes.map((n) => n.staker.address));
  const start = await pm.getCurrentPeriod();
  await (await pm.connect(alice).createPolicy(randomPolicyId(), alice.address, list, start + 300n, 10n ** 15n)).wait();
  const nextPeriod = async (): Promise<void> => {
    const next = (await escrow.getCurrentPeriod()) + 1n;
    await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(next * DEFAULT_PERIOD_DURATION + 60n)]);
    await hre.network.provider.send("evm_mine", []);
  };
  const commit = async (i: number) => (await escrow.connect(nodes[i].operator).commitToNextPeriod()).wait();
  // Nodes 0–2 commit every period (steady state: one past period to mint); node 3 commits for the first time one
  // period before the measurement, so its measured commitment has nothing to mint.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) await commit(i);
    await nextPeriod();
  }
  for (let i = 0; i < 4; i++) await commit(i);
  await nextPeriod();
  const first = await commit(0);
  const later = await commit(1);
  const bare = await commit(3);
  await traceGas(hre, first!.hash, "first commit+mint of a period (hook, node serving a policy)");
  await traceGas(hre, later!.hash, "later commit+mint (hook, node serving a policy)");
  await traceGas(hre, bare!.hash, "bare commit, nothing to mint (hook, node serving a policy)");
  // A commitment into a new 16-period block moves the node's block of commitment bits into _commitBits.
  await nextPeriod();
  while (((await escrow.getCurrentPeriod()) + 1n) % 16n !== 0n) {
    for (let i = 0; i < 4; i++) await commit(i);
    await nextPeriod();
  }
  await commit(0);
  const boundary = await commit(1);
  await traceGas(hre, boundary!.hash, "later commit+mint into a new 16-period block (hook, node serving a policy)");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
