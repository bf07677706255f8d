// The world the node and stream tests play in: three staked nodes on loopback and a 2-of-3 policy Alice grants
// Bob on them, on the in-process chain (the chain's accounts as src/network/local.ts localNodeSpecs picks them),
// made anew for every test.
import hre from "hardhat";
import { randomBytes } from "@noble/hashes/utils";
import { loadDeployment } from "../../src/deployment";
import { localNodeSpecs, startStakedNodes } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { grant } from "../../src/client/alice";
import { SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;

/**
 * Registers the describe's hooks that give each test the chain as it was before the first (a snapshot) and
 * stop the nodes it started. Returns the list to put those nodes in.
 */
export function nodesStoppedEachTest(): RunningNode[] {
  const running: RunningNode[] = [];
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  afterEach(async function () {
    await Promise.all(running.splice(0).map((node) => node.stop()));
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  return running;
}

/**
 * Starts three nodes (stakers #1–#3, operators #4–#6, 100 000 KMS each locked for 60 periods), funds Alice
 * (#8) and has her grant `bob` 2-of-3 for `periods` at the lowest fee rate allowed. The caller stops the nodes;
 * if the grant fails, they are stopped here before the error goes on.
 */
export async function nodesAndGrant({ periods = 5n, bob = SecretKey.random() } = {}) {
  const deployment = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const nodes = await startStakedNodes(deployment, signers[0], localNodeSpecs(signers, { stake: 100_000n * KMS }));
  try {
    const alice = signers[8];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    const policy = await grant(deployment, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods,
      feeRate: (await deployment.policyManager.feeRateRange())[0] || 1n,
    });
    return { deployment, alice, bob, nodes, policy };
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
}
