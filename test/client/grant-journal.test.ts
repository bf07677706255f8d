// Grants that never lose money: nodes are checked live before anything is paid (a dead one is replaced by the
// next draw of the same seeded sample), the journal is written before the payment, a grant interrupted at each
// point resumes and pays exactly once, and a node that lost its store gets its kfrag again.
import { expect } from "chai";
import hre from "hardhat";
import { randomBytes } from "@noble/hashes/utils";
import { rmSync } from "node:fs";
import path from "node:path";
import { hexlify, ZeroHash } from "ethers";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import {
  grant,
  KFragDeliveryFailedError,
  redeliverFromJournal,
  resumeGrant,
  type GrantRequest,
} from "../../src/client/alice";
import { MemoryJournalStore } from "../../src/client/journal";
import { NotEnoughLiveNodesError } from "../../src/client/liveness";
import { decryptBytes } from "../../src/client/bob";
import { encryptBytes } from "../../src/client/enrico";
import { publicKeyOf } from "../../src/client/grant";
import { resolveGrantNodes } from "../../src/client/directory";
import { drawNodes, loadActiveNodes } from "../../src/staking";
import { policyDeposit, readPolicy } from "../../src/policy";
import type { NodeStatus } from "../../src/network/protocol";
import { SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;
const PERIODS = 5n;

class Interrupted extends Error {}
const interrupt = () => {
  throw new Interrupted("interrupted");
};

describe("grants journaled before paying, resumed after any interruption", function () {
  this.timeout(300_000);
  let running: RunningNode[] = [];
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  afterEach(async function () {
    await hre.network.provider.send("evm_setAutomine", [true]);
    await Promise.all(running.map((n) => n.stop()));
    running = [];
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  /** Four staked, running nodes; Alice funded. */
  async function world(count = 4) {
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
    const request = (extra: Partial<GrantRequest> = {}): GrantRequest => ({
      owner: alice,
      keys,
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods: PERIODS,
      feeRate,
      ...extra,
    });
    const balance = () => deployment.token.balanceOf(alice.address);
    const created = async (policyId: string) =>
      (await deployment.policyManager.queryFilter(deployment.policyManager.filters.PolicyCreated(policyId))).length;
    return { deployment, signers, specs, nodes, alice, bob, keys, feeRate, request, balance, created };
  }

  const status = async (node: RunningNode) => (await (await fetch(`${node.url}/v1/status`)).json()) as NodeStatus;
  const byStaker = (nodes: RunningNode[], staker: string) =>
    nodes.find((n) => n.staker.toLowerCase() === staker.toLowerCase())!;

  it("a node that is down before the grant is replaced by the next draw of the same seed; nothing is paid for it", async function () {
    const w = await world();
    const seed = randomBytes(32);
    const current = await w.deployment.escrow.getCurrentPeriod();
    const candidates = await loadActiveNodes(w.deployment, { lockedUntil: current + PERIODS });
    const order = drawNodes(candidates, seed).take(4);
    const dead = byStaker(w.nodes, order[1]);
    await dead.stop();
    const before = await w.balance();
    const store = new MemoryJournalStore();

    const policy = await grant(w.deployment, w.request({ seed, journal: store }));
    // The draw order without the dead node: reproducible from the seed and the chain.
    expect(policy.nodes.map((n) => n.staker)).to.deep.equal([order[0], order[2], order[3]]);
    expect(store.journal!.rejected.map((r) => r.staker)).to.deep.equal([order[1]]);
    expect(store.journal!.rejected[0].reason).to.match(/status not answered/);
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    const { record } = await readPolicy(w.deployment.policyManager, policy.policyId);
    expect(record.nodes.map((n) => n.toLowerCase())).to.not.include(order[1].toLowerCase());
    expect(store.published).to.deep.equal(policy);
  });

  it("not enough live nodes: fails before paying, naming each rejected node and why", async function () {
    const w = await world();
    await w.nodes[0].stop();
    await w.nodes[1].stop();
    const before = await w.balance();
    const store = new MemoryJournalStore();
    const error = await grant(w.deployment, w.request({ journal: store })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotEnoughLiveNodesError);
    const message = (error as Error).message;
    expect(message).to.match(/only 2 of the 3 nodes .* nothing was paid/);
    for (const node of [w.nodes[0], w.nodes[1]]) expect(message).to.include(node.staker);
    expect(await w.balance()).to.equal(before);
    expect(store.journal).to.equal(undefined);
  });

  it("named nodes are checked too: a dead one fails the grant before paying", async function () {
    const w = await world(3);
    await w.nodes[2].stop();
    const before = await w.balance();
    const error = await grant(w.deployment, w.request({ nodes: w.nodes.map((n) => n.staker) })).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NotEnoughLiveNodesError);
    expect((error as Error).message).to.include(w.nodes[2].staker);
    expect(await w.balance()).to.equal(before);
  });

  it("interrupted after the journal is written: nothing paid; resume pays once and delivers", async function () {
    const w = await world();
    const before = await w.balance();
    const store = new MemoryJournalStore();
    const error = await grant(w.deployment, w.request({ journal: store, faults: { afterJournal: interrupt } })).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(Interrupted);
    const journal = store.journal!;
    expect(journal.payment.state).to.equal("unpaid");
    expect(journal.deliveries).to.have.length(3);
    expect(journal.deliveries.every((d) => d.ownerSignature && !d.acknowledged)).to.equal(true);
    expect(await w.deployment.policyManager.policyCommitment(journal.grant.policyId)).to.equal(ZeroHash);
    expect(await w.balance()).to.equal(before);

    const policy = await resumeGrant(w.deployment, w.alice, journal, store);
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    expect(store.journal!.deliveries.every((d) => d.acknowledged)).to.equal(true);
    expect(store.journal!.payment.state).to.equal("paid");
    for (const n of policy.nodes) expect((await status(byStaker(w.nodes, n.staker))).kfrags).to.equal(1);

    // Resuming a finished grant pays nothing and changes nothing on the nodes.
    await resumeGrant(w.deployment, w.alice, store.journal!, store);
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    expect(await w.created(policy.policyId)).to.equal(1);
  });

  it("interrupted after the payment was sent but before it was mined: resume waits for it and never pays twice", async function () {
    const w = await world();
    // The deposit's allowance is given beforehand, so the payment is the only transaction the grant sends.
    await (
      await w.deployment.token.connect(w.alice).approve(await w.deployment.policyManager.getAddress(), 10n ** 24n)
    ).wait();
    const before = await w.balance();
    const store = new MemoryJournalStore();
    await hre.network.provider.send("evm_setAutomine", [false]);
    const error = await grant(
      w.deployment,
      w.request({ journal: store, faults: { afterPaymentSent: interrupt } }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Interrupted);
    const journal = store.journal!;
    expect(journal.payment.state).to.equal("sent");
    expect(journal.payment.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await w.deployment.policyManager.policyCommitment(journal.grant.policyId)).to.equal(ZeroHash);

    // The pending payment is mined while the resume waits for it.
    const mining = new Promise((resolve) => setTimeout(resolve, 500)).then(async () => {
      await hre.network.provider.send("evm_setAutomine", [true]);
      await hre.network.provider.send("evm_mine", []);
    });
    const policy = await resumeGrant(w.deployment, w.alice, journal, store);
    await mining;
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    expect(await w.created(policy.policyId)).to.equal(1);
    expect(store.journal!.deliveries.every((d) => d.acknowledged)).to.equal(true);
  });

  it("a payment journaled as sent but dropped is sent again, once; a second resume finds it paid", async function () {
    const w = await world();
    const before = await w.balance();
    const store = new MemoryJournalStore();
    await grant(w.deployment, w.request({ journal: store, faults: { afterJournal: interrupt } })).catch(
      () => undefined,
    );
    const journal = store.journal!;
    // What a crash right after sending leaves when the RPC lost the transaction: a hash nobody knows.
    journal.payment = { state: "sent", txHash: hexlify(randomBytes(32)) };
    await resumeGrant(w.deployment, w.alice, journal, store);
    await resumeGrant(w.deployment, w.alice, store.journal!, store);
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    expect(await w.created(journal.grant.policyId)).to.equal(1);
  });

  it("interrupted after one delivery: resume delivers the rest and pays nothing more", async function () {
    const w = await world();
    const before = await w.balance();
    const store = new MemoryJournalStore();
    const error = await grant(
      w.deployment,
      w.request({ journal: store, faults: { afterDelivery: (count) => (count === 1 ? interrupt() : undefined) } }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Interrupted);
    expect(store.journal!.payment.state).to.equal("paid");
    expect(store.journal!.deliveries.filter((d) => d.acknowledged).length).to.be.at.least(1);
    const policy = await resumeGrant(w.deployment, w.alice, structuredClone(store.journal!), store);
    expect(store.journal!.deliveries.every((d) => d.acknowledged)).to.equal(true);
    expect(before - (await w.balance())).to.equal(policyDeposit(w.feeRate, PERIODS, 3));
    expect(await w.created(policy.policyId)).to.equal(1);
  });

  it("a node down mid-grant: the grant fails naming it; resume after its restart delivers only to it", async function () {
    const w = await world(3);
    const store = new MemoryJournalStore();
    const victim = w.nodes[1];
    const error = await grant(
      w.deployment,
      w.request({
        nodes: w.nodes.map((n) => n.staker),
        journal: store,
        // The node dies after the check, while Alice pays.
        faults: { afterPaymentSent: () => victim.stop() },
      }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(KFragDeliveryFailedError);
    expect((error as KFragDeliveryFailedError).belowThreshold).to.equal(false);
    expect((error as Error).message).to.include(victim.staker);
    const journal = store.journal!;
    expect(journal.deliveries.filter((d) => d.acknowledged).map((d) => d.staker)).to.have.members([
      w.nodes[0].staker,
      w.nodes[2].staker,
    ]);

    const [restarted] = await startLocalNodes(w.deployment, [{ ...w.specs[1], dataDir: victim.dataDir }]);
    running.push(restarted);
    await resumeGrant(w.deployment, w.alice, journal, store);
    expect(store.journal!.deliveries.every((d) => d.acknowledged)).to.equal(true);
    expect((await status(restarted)).kfrags).to.equal(1);
  });

  it("below the threshold, the error says so", async function () {
    const w = await world(3);
    const store = new MemoryJournalStore();
    const error = await grant(
      w.deployment,
      w.request({
        threshold: 3,
        nodes: w.nodes.map((n) => n.staker),
        journal: store,
        faults: { afterPaymentSent: () => w.nodes[0].stop() },
      }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(KFragDeliveryFailedError);
    expect((error as KFragDeliveryFailedError).belowThreshold).to.equal(true);
    expect((error as Error).message).to.match(/cannot reach its threshold: 2 of the 3/);
  });

  it("a node that lost its store gets its kfrag again from the journal; Bob decrypts through it", async function () {
    const w = await world(3);
    const store = new MemoryJournalStore();
    const policy = await grant(w.deployment, w.request({ journal: store, nodes: w.nodes.map((n) => n.staker) }));
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("before the wipe"));
    const [wiped] = w.nodes;
    await wiped.stop();
    rmSync(path.join(wiped.dataDir, "kfrags"), { recursive: true, force: true });
    rmSync(path.join(wiped.dataDir, "kfrags.journal"), { force: true });
    const [restarted] = await startLocalNodes(w.deployment, [{ ...w.specs[0], dataDir: wiped.dataDir }]);
    running.push(restarted);
    expect((await status(restarted)).kfrags).to.equal(0);

    await redeliverFromJournal(w.deployment, store.journal!, store, { owner: w.alice, stakers: [wiped.staker] });
    expect((await status(restarted)).kfrags).to.equal(1);
    // Bob needs the redelivered node: one of the others is down.
    await w.nodes[1].stop();
    // The restarted node listens on a new port: Bob looks the nodes up in the directory, as kms retrieve-decrypt does.
    const { grant: current } = await resolveGrantNodes(policy, w.deployment.nodeDirectory);
    const plain = await decryptBytes(current, w.bob, sealed);
    expect(new TextDecoder().decode(plain)).to.equal("before the wipe");
  });
});
