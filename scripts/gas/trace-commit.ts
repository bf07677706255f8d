// `npx hardhat run scripts/gas/trace-commit.ts`: traces, on the deployed configuration (scripts/gas/deployed.ts),
// the commitments the gas targets are about: the first and a later commit+mint of a period and a bare commit
// (nothing past to mint), for a node serving no policy and one serving a policy, and a commitment into a new
// 16-period block of the PolicyManager's commitment bits.
import hre from "hardhat";
import { traceGas } from "./trace";
import { alignToBlock } from "./types";
import { commitAll, createPolicies, deployKMS, newNode, newPayer, nextPeriod, type Node } from "./deployed";
import { DEFAULT_MIN_FEE_RATE, DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";
import { sortNodes } from "../../src/policy";

async function main(): Promise<void> {
  const d = await deployKMS(hre);
  await alignToBlock(hre, DEFAULT_PERIOD_DURATION);
  const nodes: Node[] = [];
  for (let i = 0; i < 6; i++) nodes.push(await newNode(hre, d));
  // Nodes 0, 2, 4 serve a policy; 1, 3, 5 none. Nodes 4 and 5 start committing one period before the measurement.
  const payer = await newPayer(hre, d);
  const served = sortNodes([nodes[0], nodes[2], nodes[4]].map((n) => n.staker.address));
  await createPolicies(d, payer, served, (await d.escrow.getCurrentPeriod()) + 300n, DEFAULT_MIN_FEE_RATE);
  const commit = async (i: number) =>
    (await d.escrow.connect(nodes[i].operator).commitToNextPeriodFor(nodes[i].staker.address)).wait();
  for (let round = 0; round < 3; round++) {
    await commitAll(d, nodes.slice(0, 4));
    await nextPeriod(hre, d);
  }
  await commitAll(d, nodes);
  await nextPeriod(hre, d);
  const first = await commit(0);
  const laterServed = await commit(2);
  const laterIdle = await commit(3);
  const bareServed = await commit(4);
  const bareIdle = await commit(5);
  await traceGas(hre, first!.hash, "first commit+mint of a period (node serving a policy)");
  await traceGas(hre, laterServed!.hash, "later commit+mint (node serving a policy)");
  await traceGas(hre, laterIdle!.hash, "later commit+mint (node serving no policy)");
  await traceGas(hre, bareServed!.hash, "bare commit, nothing to mint (node serving a policy)");
  await traceGas(hre, bareIdle!.hash, "bare commit, nothing to mint (node serving no policy)");
  await nextPeriod(hre, d);
  while (((await d.escrow.getCurrentPeriod()) + 1n) % 16n !== 0n) {
    await commitAll(d, nodes);
    await nextPeriod(hre, d);
  }
  await commit(1);
  const boundary = await commit(0);
  await traceGas(hre, boundary!.hash, "later commit+mint into a new 16-period block (node serving a policy)");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
