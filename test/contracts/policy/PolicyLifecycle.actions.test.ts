// src/policy for extensions and slot moves: the wrappers (approval or permit, slot by index or node), their
// typed errors before anything is sent, readPolicy rebuilding the record through PolicyExtended and
// PolicySlotMoved, describePolicy's per-tenure accrual, the node-side policy view, and the revert sentences.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  InvalidExtensionError,
  InvalidSlotMoveError,
  PolicyNotLiveError,
  describePolicy,
  extendPolicy,
  extendPolicyWithPermit,
  extensionDeposit,
  hashPolicyRecord,
  moveSlot,
  readPolicy,
  refundPolicy,
  revokePolicy,
  slotTenures,
} from "../../../src/policy";
import { policyViewOf } from "../../../src/network/chain";
import { explainRevert } from "../../../src/cli/reverts";
import { RATE, advance, createPolicy, deployPolicyFixture, pid, type PolicyContext } from "./fixture";

/** Expects `promise` to reject with `type` before any transaction (the signer's nonce is unchanged). */
async function expectRejected(ctx: PolicyContext, promise: Promise<unknown>, type: new (...a: never[]) => Error) {
  const nonce = await ctx.alice.getNonce();
  const error = await promise.then(
    () => expect.fail("the call succeeded"),
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(type);
  expect(await ctx.alice.getNonce()).to.equal(nonce);
  return error as Error;
}

describe("policy lifecycle actions", function () {
  it("extends with an approval when the allowance is short, and readPolicy follows the new end", async function () {
    const ctx = await loadFixture(deployPolicyFixture);
    const { pm, token, bob, nodes } = ctx;
    await token.transfer(bob.address, RATE * 100n);
    const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 2), periods: 3n, owner: bob.address });
    const newEnd = record.endPeriod + 4n;
    expect(extensionDeposit(record, newEnd)).to.equal(RATE * 4n * 2n);
    expect(extensionDeposit(record, record.endPeriod)).to.equal(0n);
    const result = await extendPolicy(pm, token, bob, pid(1), newEnd);
    expect(result.previousEndPeriod).to.equal(record.endPeriod);
    expect(result.addedDeposit).to.equal(RATE * 8n);
    expect(result.record).to.deep.equal({ ...record, endPeriod: newEnd });
    expect(await token.balanceOf(bob.address)).to.equal(RATE * 92n);
    const history = await readPolicy(pm, pid(1));
    expect(history.deposit).to.equal(RATE * 3n * 2n + RATE * 8n);
    expect(history.originalEndPeriod).to.equal(record.endPeriod);
    expect(history.scheduledEndPeriod).to.equal(newEnd);
    expect(history.extensions).to.deep.equal([
      { previousEndPeriod: record.endPeriod, endPeriod: newEnd, addedDeposit: RATE * 8n },
    ]);
    // The node's view (what a node daemon checks) serves the new end.
    const view = policyViewOf(pm, { fromBlock: 0 });
    expect((await view.getPolicy(pid(1)))!.endPeriod).to.equal(newEnd);
  });

  it("extends with a permit in one transaction", async function () {
    const ctx = await loadFixture(deployPolicyFixture);
    const { pm, token, bob, nodes } = ctx;
    await token.transfer(bob.address, RATE * 10n);
    const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n, owner: bob.address });
    const nonce = await bob.getNonce();
    const result = await extendPolicyWithPermit(pm, token, bob, pid(1), record.endPeriod + 2n);
    expect(await bob.getNonce()).to.equal(nonce + 1); // no approve transaction
    expect(result.addedDeposit).to.equal(RATE * 2n);
    expect(await token.balanceOf(bob.address)).to.equal(RATE * 8n);
    expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(result.record));
  });

  it("moves a slot by index or by node, and the old node's view no longer lists it", async function () {
    const ctx = await loadFixture(deployPolicyFixture);
    const { pm, escrow, alice, nodes } = ctx;
    const [a, b, c, d] = nodes;
    const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 6n });
    const first = await moveSlot(pm, alice, pid(1), 1, d.address);
    expect(first).to.include({ index: 1, previousNode: b.address, node: d.address });
    expect(first.fromPeriod).to.equal(record.startPeriod + 1n);
    expect(first.refunded).to.equal(RATE * 2n); // the start period, missed by both
    await escrow.commitToNextPeriod(a.address);
    await escrow.commitToNextPeriod(d.address);
    await advance();
    const second = await moveSlot(pm, alice, pid(1), a.address.toLowerCase(), c.address);
    expect(second).to.include({ index: 0, previousNode: a.address, node: c.address, refunded: 0n });
    expect(second.record.nodes).to.deep.equal([c.address, d.address]);
    const view = policyViewOf(pm, { fromBlock: 0 });
    const live = (await view.getPolicy(pid(1)))!;
    expect(live.nodes).to.deep.equal([c.address, d.address]);
    expect(live.nodes).not.to.include(b.address);

    const history = await readPolicy(pm, pid(1));
    expect(history.record.refundedThrough).to.equal(record.startPeriod + 2n);
    expect(history.slotMoves.map((m) => [m.index, m.previousNode, m.node])).to.deep.equal([
      [1, b.address, d.address],
      [0, a.address, c.address],
    ]);
    expect(slotTenures(history).map((t) => [t.slot, t.node, t.fromPeriod, t.untilPeriod])).to.deep.equal([
      [0, a.address, record.startPeriod, record.startPeriod + 2n],
      [0, c.address, record.startPeriod + 2n, record.endPeriod],
      [1, b.address, record.startPeriod, record.startPeriod + 1n],
      [1, d.address, record.startPeriod + 1n, record.endPeriod],
    ]);
    // Accrual per tenure: a earned start + 1, d earned start + 1; nothing else yet. The identity holds.
    const state = await describePolicy(pm, pid(1));
    expect(state.nodes.map((n) => n.accrued)).to.deep.equal([RATE, 0n, 0n, RATE]);
    expect(state.held + state.refunded + RATE * 2n).to.equal(state.deposit);
    // Refund and revocation after the moves go through with the rebuilt record.
    await advance();
    expect(await refundPolicy(pm, alice, pid(1))).to.equal(RATE * 2n); // c and d missed start + 2
    expect(await revokePolicy(pm, alice, pid(1))).to.equal(RATE * 2n * (record.endPeriod - record.startPeriod - 3n));
    const after = await describePolicy(pm, pid(1));
    expect(after.status).to.equal("revoked");
    expect(after.held).to.equal(0n);
  });

  it("readPolicy reads the events and the commitment at one block, even when a block lands between its reads", async function () {
    const ctx = await loadFixture(deployPolicyFixture);
    const { pm, alice, nodes } = ctx;
    const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 2), periods: 4n });
    // A provider whose first log query is answered, then a revocation is mined before readPolicy reads on.
    let revoked = false;
    const provider = new Proxy(ethers.provider, {
      get(target, key, receiver) {
        if (key === "provider") return receiver; // a provider is its own provider: keep it wrapped
        if (key === "getLogs") {
          return async (filter: Parameters<typeof target.getLogs>[0]) => {
            const logs = await target.getLogs(filter);
            if (!revoked) {
              revoked = true;
              await revokePolicy(pm, alice, pid(1));
            }
            return logs;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const before = await readPolicy(pm.connect(provider), pid(1));
    expect(revoked).to.equal(true);
    expect(before.revoked).to.equal(false);
    expect(before.record).to.deep.equal(record);
    const after = await readPolicy(pm, pid(1));
    expect(after.revoked).to.equal(true);
    expect(after.record.endPeriod).to.be.lessThan(record.endPeriod);
  });

  describe("typed errors before sending", function () {
    it("for a new end not later, and for a revoked, ending or ended policy", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, token, alice, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 2n });
      const live = await createPolicy(ctx, { id: pid(2), nodes: [nodes[1]], periods: 5n });
      await expectRejected(ctx, extendPolicy(pm, token, alice, pid(1), record.endPeriod), InvalidExtensionError);
      await revokePolicy(pm, alice, pid(2));
      const revoked = await expectRejected(
        ctx,
        extendPolicy(pm, token, alice, pid(2), live.endPeriod + 1n),
        PolicyNotLiveError,
      );
      expect(revoked.message).to.match(/was revoked/);
      await expectRejected(ctx, moveSlot(pm, alice, pid(2), 0, nodes[3].address), PolicyNotLiveError);
      await advance();
      const last = await expectRejected(
        ctx,
        extendPolicyWithPermit(pm, token, alice, pid(1), record.endPeriod + 1n),
        PolicyNotLiveError,
      );
      expect(last.message).to.match(/last period/);
      await advance();
      const ended = await expectRejected(ctx, moveSlot(pm, alice, pid(1), 0, nodes[3].address), PolicyNotLiveError);
      expect(ended.message).to.match(/ended at period/);
    });

    it("for a slot that does not exist, a node that does not serve, and a node already serving", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 2), periods: 4n });
      for (const [slot, target] of [
        [2, nodes[3].address],
        [-1, nodes[3].address],
        [0.5, nodes[3].address],
        [nodes[4].address, nodes[3].address],
        ["not an address", nodes[3].address],
        [0, nodes[1].address],
        [0, "0x1234"],
      ] as const) {
        await expectRejected(ctx, moveSlot(pm, alice, pid(1), slot, target), InvalidSlotMoveError);
      }
    });
  });

  it("says the new reverts in words", function () {
    const id = pid(1);
    const said = (name: string, args: Record<string, unknown>) => explainRevert({ name, args, params: [] });
    expect(said("PolicyEnded", { policyId: id, endPeriod: 5n, currentPeriod: 7n })).to.match(/ended at period 5/);
    expect(said("PolicyInLastPeriod", { policyId: id, endPeriod: 8n, currentPeriod: 7n })).to.match(/too late/);
    expect(said("EndPeriodNotLater", { policyId: id, endPeriod: 8n, newEndPeriod: 8n })).to.match(/must be later/);
    expect(said("SlotIndexOutOfRange", { index: 3n, count: 3n })).to.match(/slot 3 does not exist/);
    expect(said("DuplicateNode", { node: "0xabc" })).to.match(/already in the policy/);
  });
});
