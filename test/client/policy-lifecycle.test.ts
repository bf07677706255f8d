// A live policy extended and healed from Alice's journal: the added periods are paid once (a retry pays
// nothing), nodes keep and serve the kfrag past the old end (the sweep asks the chain before deleting), and a
// node that left is replaced by the next live draw with a replacement share that combines with the others.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "@noble/hashes/utils";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { extendGrant, grant, healSlot, NodeNotInGrantError } from "../../src/client/alice";
import { MemoryJournalStore } from "../../src/client/journal";
import { decryptBytes } from "../../src/client/bob";
import { encryptBytes } from "../../src/client/enrico";
import { publicKeyOf } from "../../src/client/grant";
import { drawNodes, loadActiveNodes } from "../../src/staking";
import { policyDeposit, PolicyNotLiveError, readPolicy, revokePolicy } from "../../src/policy";
import type { NodeStatus } from "../../src/network/protocol";
import { SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;

describe("extending and healing a live policy", function () {
  this.timeout(300_000);
  let running: RunningNode[] = [];
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  afterEach(async function () {
    await Promise.all(running.map((n) => n.stop()));
    running = [];
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  async function world(count: number, periods: bigint) {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = Array.from({ length: count }, (_, i) => ({
      staker: signers[1 + i],
      operator: signers[6 + i],
      stake: BigInt(100_000 + 10_000 * i) * KMS,
      lockPeriods: 60n,
    }));
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    const nodes = await startLocalNodes(deployment, specs);
    running = nodes;
    const alice = signers[11];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    const feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    const bob = SecretKey.random();
    const keys = AliceKeys.fromSeed(randomBytes(32));
    const seed = randomBytes(32);
    const store = new MemoryJournalStore();
    const policy = await grant(deployment, {
      owner: alice,
      keys,
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods,
      feeRate,
      seed,
      journal: store,
    });
    const balance = () => deployment.token.balanceOf(alice.address);
    return { deployment, nodes, alice, bob, keys, seed, store, policy, feeRate, balance };
  }

  const status = async (node: RunningNode) => (await (await fetch(`${node.url}/v1/status`)).json()) as NodeStatus;
  const byStaker = (nodes: RunningNode[], staker: string) =>
    nodes.find((n) => n.staker.toLowerCase() === staker.toLowerCase())!;

  it("extend: the added periods are paid once; nodes keep and serve the kfrag past the old end", async function () {
    const w = await world(3, 3n);
    const oldEnd = BigInt(w.policy.endPeriod);
    // A first sweep records the block, so the next ones trust the end recorded with each kfrag.
    for (const node of w.nodes) await node.sweep();
    const before = await w.balance();
    let shown = 0n;
    const result = await extendGrant(w.deployment, w.store.journal!, w.store, {
      owner: w.alice,
      periods: 4n,
      confirmFee: (fee) => {
        shown = fee;
      },
    });
    const fee = policyDeposit(w.feeRate, 4n, 3);
    expect(shown).to.equal(fee);
    expect(result).to.deep.equal({ previousEndPeriod: oldEnd, endPeriod: oldEnd + 4n, fee });
    expect(before - (await w.balance())).to.equal(fee);
    expect(w.store.journal!.grant.endPeriod).to.equal((oldEnd + 4n).toString());
    expect(w.store.published!.endPeriod).to.equal((oldEnd + 4n).toString());

    // A retry after a crash that left the extension journaled but already on-chain pays nothing.
    const journal = structuredClone(w.store.journal!);
    journal.pendingExtension = { endPeriod: (oldEnd + 4n).toString() };
    const retry = await extendGrant(w.deployment, journal, w.store, { owner: w.alice, periods: 4n });
    expect(retry.fee).to.equal(0n);
    expect(before - (await w.balance())).to.equal(fee);

    // Past the old end: the sweep keeps the kfrag, the nodes serve Bob.
    const sealed = await encryptBytes(publicKeyOf(w.policy.delegatingKey), new TextEncoder().encode("later"));
    const duration = await w.deployment.escrow.periodDuration();
    await time.increaseTo((oldEnd + 1n) * duration);
    expect(await w.deployment.escrow.getCurrentPeriod()).to.be.greaterThan(oldEnd);
    for (const node of w.nodes) {
      expect(await node.sweep()).to.equal(0);
      expect((await status(node)).kfrags).to.equal(1);
    }
    const plain = await decryptBytes(w.store.published!, w.bob, sealed);
    expect(new TextDecoder().decode(plain)).to.equal("later");

    // Past the new end, the sweep deletes it.
    await time.increaseTo((oldEnd + 4n) * duration);
    for (const node of w.nodes) expect(await node.sweep()).to.equal(1);
  });

  it("extend of a revoked policy fails with one line and pays nothing", async function () {
    const w = await world(3, 5n);
    await revokePolicy(w.deployment.policyManager, w.alice, w.policy.policyId);
    const before = await w.balance();
    const error = await extendGrant(w.deployment, w.store.journal!, w.store, { owner: w.alice, periods: 2n }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(PolicyNotLiveError);
    expect((error as Error).message).to.match(/was revoked/);
    expect(await w.balance()).to.equal(before);
  });

  it("heal: the slot of a node that left goes to the next live draw; Bob decrypts files from before and after", async function () {
    const w = await world(5, 5n);
    const pk = publicKeyOf(w.policy.delegatingKey);
    const before = await encryptBytes(pk, new TextEncoder().encode("encrypted before the heal"));
    const leaving = byStaker(w.nodes, w.policy.nodes[1].staker);
    await leaving.stop();

    // The expected replacement: the first draw of the grant's seed that is not in the policy.
    const candidates = await loadActiveNodes(w.deployment, { lockedUntil: BigInt(w.policy.endPeriod) });
    const inPolicy = w.policy.nodes.map((n) => n.staker.toLowerCase());
    const expected = drawNodes(candidates, w.seed)
      .take(candidates.length)
      .find((s) => !inPolicy.includes(s.toLowerCase()))!;

    const heal = await healSlot(w.deployment, w.store.journal!, w.store, {
      owner: w.alice,
      keys: w.keys,
      staker: leaving.staker,
    });
    expect(heal.to).to.equal(expected);
    expect(heal.share).to.equal(3);
    const { record } = await readPolicy(w.deployment.policyManager, w.policy.policyId);
    expect(record.nodes).to.include(expected);
    expect(record.nodes).to.not.include(leaving.staker);
    expect((await status(byStaker(w.nodes, expected))).kfrags).to.equal(1);
    const healed = w.store.published!;
    expect(healed.nodes.map((n) => n.staker)).to.include(expected);

    // One more original node down: Bob needs the replacement's cfrag with the one original left.
    await byStaker(w.nodes, healed.nodes.find((n) => n.staker !== expected)!.staker).stop();
    const after = await encryptBytes(pk, new TextEncoder().encode("encrypted after the heal"));
    for (const [sealed, text] of [
      [before, "encrypted before the heal"],
      [after, "encrypted after the heal"],
    ] as const) {
      expect(new TextDecoder().decode(await decryptBytes(healed, w.bob, sealed))).to.equal(text);
    }
  });

  it("heal naming a node that is not in the policy fails before anything is sent", async function () {
    const w = await world(4, 5n);
    const outsider = w.nodes.find((n) => !w.policy.nodes.some((p) => p.staker === n.staker))!;
    const error = await healSlot(w.deployment, w.store.journal!, w.store, {
      owner: w.alice,
      keys: w.keys,
      staker: outsider.staker,
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeNotInGrantError);
    expect((error as Error).message).to.include(outsider.staker);
    expect(w.store.journal!.sharesIssued).to.equal(3);
  });
});
