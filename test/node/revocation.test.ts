// Revocation and expiry delete kfrags: after a policy is revoked or ends, a node's store, looked at offline,
// no longer holds its kfrag — deleted on the first request answered 410, or by the sweep for the policies
// nobody asks about — and the node's status counts the deletions.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import path from "node:path";
import { startLocalNodes } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { KFragStore } from "../../src/node/store";
import { revokePolicy } from "../../src/policy";
import type { NodeStatus } from "../../src/network/protocol";
import { nodesAndGrant, nodesStoppedEachTest } from "../support/local-grant";

describe("kfrags of revoked and ended policies are deleted", function () {
  this.timeout(300_000);
  const running = nodesStoppedEachTest();

  /** Three staked nodes holding one kfrag each of a 2-of-3 policy. */
  async function world() {
    const w = await nodesAndGrant();
    running.push(...w.nodes);
    return w;
  }

  const status = async (node: RunningNode) => (await (await fetch(`${node.url}/v1/status`)).json()) as NodeStatus;

  /** Stops `node` and reads its store directly, as someone holding its disk would. */
  async function offlineLook(node: RunningNode, policyId: string) {
    await node.stop();
    const store = await KFragStore.open(path.join(node.dataDir, "kfrags"));
    try {
      return { held: await store.get(policyId), count: await store.count(), deleted: store.deleted() };
    } finally {
      await store.close();
    }
  }

  it("the first request answered 410 deletes the node's kfrag of a revoked policy", async function () {
    const { deployment, alice, nodes, policy } = await world();
    expect((await status(nodes[0])).kfrags).to.equal(1);
    await revokePolicy(deployment.policyManager, alice, policy.policyId);

    const response = await fetch(`${nodes[0].url}/v1/policies/${policy.policyId}/reencrypt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capsules: ["0x00"] }),
    });
    expect(response.status).to.equal(410);
    const after = await status(nodes[0]);
    expect(after.kfrags).to.equal(0);
    expect(after.deletedKFrags).to.equal(1);

    const look = await offlineLook(nodes[0], policy.policyId);
    expect(look.held).to.equal(undefined);
    expect(look.deleted).to.equal(1);
    // A node nobody asked still holds it until its sweep runs.
    expect((await status(nodes[1])).kfrags).to.equal(1);
  });

  it("the sweep deletes every node's kfrag of a revoked policy nobody asks about", async function () {
    const { deployment, alice, nodes, policy } = await world();
    await revokePolicy(deployment.policyManager, alice, policy.policyId);
    for (const node of nodes) expect(await node.sweep()).to.equal(1);
    for (const node of nodes) expect((await status(node)).deletedKFrags).to.equal(1);
    for (const node of nodes) {
      const look = await offlineLook(node, policy.policyId);
      expect(look.held).to.equal(undefined);
      expect(look.count).to.equal(0);
    }
  });

  it("the sweep deletes kfrags of a policy that ended, and keeps those of a live one", async function () {
    const { deployment, nodes, policy } = await world();
    expect(await nodes[0].sweep()).to.equal(0);
    const duration = await deployment.escrow.periodDuration();
    await time.increaseTo(BigInt(policy.endPeriod) * duration + 1n);
    expect(await nodes[0].sweep()).to.equal(1);
    const look = await offlineLook(nodes[0], policy.policyId);
    expect(look.held).to.equal(undefined);
    expect(look.deleted).to.equal(1);
  });

  it("a restarted node's first sweep finds a revocation made while it was down", async function () {
    const { deployment, alice, nodes, policy } = await world();
    const [node] = nodes;
    await node.stop();
    await revokePolicy(deployment.policyManager, alice, policy.policyId);
    const signers = await hre.ethers.getSigners();
    // startNode sweeps once at start.
    const [restarted] = await startLocalNodes(deployment, [
      { staker: signers[1], operator: signers[4], stake: 0n, lockPeriods: 0n, dataDir: node.dataDir },
    ]);
    running.push(restarted);
    const after = await status(restarted);
    expect(after.kfrags).to.equal(0);
    expect(after.deletedKFrags).to.equal(1);
  });
});
