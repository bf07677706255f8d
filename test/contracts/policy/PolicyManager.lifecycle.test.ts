// PolicyManager: extending a live policy (more periods, same nodes) and moving a slot to a new node, with the
// cut-over at the next period, the settlement of missed periods at the move, and refunds/revocations after both.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { signPermit } from "../../../src/token/permit";
import { hashPolicyRecord, type PolicyRecord } from "../../../src/policy";
import {
  ALICE_FUNDS,
  LOCKED,
  MAX_RATE,
  RATE,
  UNIT,
  advance,
  createPolicy,
  deployPolicyFixture,
  pid,
  type PolicyContext,
} from "./fixture";

/** Runs `action`, expecting it to revert, and checks that no token balance and no commitment changed. */
async function expectNothingChanged(ctx: PolicyContext, id: string, action: () => Promise<void>) {
  const watched = [ctx.alice, ctx.bob, ctx.stranger, ...ctx.nodes].map((s) => s.address);
  watched.push(await ctx.pm.getAddress());
  const before = await Promise.all(watched.map((a) => ctx.token.balanceOf(a)));
  const commitment = await ctx.pm.policyCommitment(id);
  await action();
  expect(await Promise.all(watched.map((a) => ctx.token.balanceOf(a)))).to.deep.equal(before);
  expect(await ctx.pm.policyCommitment(id)).to.equal(commitment);
}

/** Fees of `node` credited so far, withdrawable or held. */
async function fees(ctx: PolicyContext, node: HardhatEthersSigner): Promise<bigint> {
  return (await ctx.pm.getNodeFees(node.address)).fees;
}

async function commit(ctx: PolicyContext, ...nodes: HardhatEthersSigner[]) {
  for (const node of nodes) await (await ctx.escrow.commitToNextPeriod(node.address)).wait();
}

describe("PolicyManager lifecycle", function () {
  describe("extendPolicy", function () {
    it("takes feeRate × added periods × nodes, moves every node's decrease and commits to the new end", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, token, alice, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 3), periods: 4n });
      const newEnd = record.endPeriod + 5n;
      const added = RATE * 5n * 3n;
      await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
        .to.emit(pm, "PolicyExtended")
        .withArgs(pid(1), record.endPeriod, newEnd, added)
        .and.to.emit(token, "Transfer")
        .withArgs(alice.address, await pm.getAddress(), added);
      expect(await token.balanceOf(alice.address)).to.equal(ALICE_FUNDS - RATE * 4n * 3n - added);
      const extended = { ...record, endPeriod: newEnd };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(extended));
      for (const node of nodes.slice(0, 3)) {
        expect(await pm.rateDropAt(node.address, record.endPeriod)).to.equal(0n);
        expect(await pm.rateDropAt(node.address, newEnd)).to.equal(RATE);
      }
      // The stale record (a retried transaction) no longer matches; the same new end with the new record is
      // not later than the end: neither pays twice.
      await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
        .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
        .withArgs(pid(1));
      await expect(pm.connect(alice).extendPolicy(pid(1), extended, newEnd))
        .to.be.revertedWithCustomError(pm, "EndPeriodNotLater")
        .withArgs(pid(1), newEnd, newEnd);
    });

    it("pays a node committing every period through the new end and nothing after it", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [n] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 3n });
      const newEnd = record.endPeriod + 2n;
      await pm.connect(alice).extendPolicy(pid(1), record, newEnd);
      // Commit to start + 1 … start + 6: the policy covers start + 1 … newEnd − 1 = start + 4.
      for (let i = 0; i < 6; i++) {
        await commit(ctx, n);
        await advance();
      }
      expect(await fees(ctx, n)).to.equal(RATE * 4n);
      // The missed start period is the only refund.
      const extended = { ...record, endPeriod: newEnd };
      await expect(pm.connect(alice).refund(pid(1), extended))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), newEnd, RATE);
    });

    it("keeps a next-period credit already given and extends twice with the updated record", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 3n });
      await commit(ctx, a); // a committed to start + 1 ahead, credited now
      expect(await fees(ctx, a)).to.equal(RATE);
      const first = { ...record, endPeriod: record.endPeriod + 1n };
      await pm.connect(alice).extendPolicy(pid(1), record, first.endPeriod);
      const second = { ...first, endPeriod: first.endPeriod + 2n };
      await expect(pm.connect(alice).extendPolicy(pid(1), first, second.endPeriod))
        .to.emit(pm, "PolicyExtended")
        .withArgs(pid(1), first.endPeriod, second.endPeriod, RATE * 2n * 2n);
      expect(await fees(ctx, a)).to.equal(RATE);
      expect(await pm.rateDropAt(a.address, second.endPeriod)).to.equal(RATE);
      expect((await pm.getNodeFees(a.address)).rate).to.equal(RATE);
    });

    it("revokes exactly after an extension: every period after the current one comes back", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, token, alice, nodes } = ctx;
      const [a, b] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 3n });
      const extended = { ...record, endPeriod: record.endPeriod + 4n };
      await pm.connect(alice).extendPolicy(pid(1), record, extended.endPeriod);
      await commit(ctx, a, b);
      await advance();
      await commit(ctx, a); // a is committed ahead to start + 2
      const current = record.startPeriod + 1n;
      const refund = RATE * (extended.endPeriod - current - 1n) * 2n;
      await expect(pm.connect(alice).revokePolicy(pid(1), extended))
        .to.emit(pm, "PolicyRevoked")
        .withArgs(pid(1), alice.address, current + 1n, refund);
      expect(await fees(ctx, a)).to.equal(RATE); // start + 1 only: the credit for start + 2 was taken back
      expect(await fees(ctx, b)).to.equal(RATE);
      await advance(8);
      await commit(ctx, a, b);
      const revoked = { ...extended, endPeriod: current + 1n };
      // Only the start period (missed by both) remains to refund; deposits = fees + refunds exactly.
      await expect(pm.connect(alice).refund(pid(1), revoked))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), current + 1n, RATE * 2n);
      expect(await token.balanceOf(await pm.getAddress())).to.equal((await fees(ctx, a)) + (await fees(ctx, b)));
    });

    describe("with a permit", function () {
      it("extends in one transaction without a prior approval", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, token, bob, nodes } = ctx;
        await token.transfer(bob.address, RATE * 100n);
        const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n, owner: bob.address });
        const newEnd = record.endPeriod + 3n;
        const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
        const sig = await signPermit(token, bob, { spender: await pm.getAddress(), value: RATE * 3n, deadline });
        const permit = { value: RATE * 3n, deadline, v: sig.v, r: sig.r, s: sig.s };
        await expect(pm.connect(bob).extendPolicyWithPermit(pid(1), record, newEnd, permit))
          .to.emit(pm, "PolicyExtended")
          .withArgs(pid(1), record.endPeriod, newEnd, RATE * 3n)
          .and.to.emit(token, "Transfer")
          .withArgs(bob.address, await pm.getAddress(), RATE * 3n);
        expect(await token.balanceOf(bob.address)).to.equal(RATE * 97n);
        expect(await token.allowance(bob.address, await pm.getAddress())).to.equal(0n);
        // The used permit is ignored on a second extension, which then needs an allowance.
        const extended = { ...record, endPeriod: newEnd };
        await expect(pm.connect(bob).extendPolicyWithPermit(pid(1), extended, newEnd + 1n, permit))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await pm.getAddress(), 0n, RATE);
      });

      it("fails on the transfer with a bad permit and no allowance, moving nothing", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, token, bob, stranger, nodes } = ctx;
        await token.transfer(bob.address, RATE * 100n);
        const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n, owner: bob.address });
        const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
        // Signed by a stranger for bob: the permit reverts inside, the pull then finds no allowance.
        const sig = await signPermit(token, stranger, {
          spender: await pm.getAddress(),
          value: RATE * 3n,
          deadline,
          owner: bob.address,
        });
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(
            pm.connect(bob).extendPolicyWithPermit(pid(1), record, record.endPeriod + 3n, {
              value: RATE * 3n,
              deadline,
              v: sig.v,
              r: sig.r,
              s: sig.s,
            }),
          )
            .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
            .withArgs(await pm.getAddress(), 0n, RATE * 3n);
        });
      });
    });

    describe("reverts, changing nothing", function () {
      it("for a caller other than the owner, an unknown id and a forged record", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, stranger, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
        const newEnd = record.endPeriod + 1n;
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(stranger).extendPolicy(pid(1), record, newEnd))
            .to.be.revertedWithCustomError(pm, "NotPolicyOwner")
            .withArgs(pid(1), stranger.address, alice.address);
          await expect(pm.connect(alice).extendPolicy(pid(2), record, newEnd))
            .to.be.revertedWithCustomError(pm, "UnknownPolicy")
            .withArgs(pid(2));
          await expect(pm.connect(alice).extendPolicy(pid(1), { ...record, feeRate: RATE / 2n }, newEnd))
            .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
            .withArgs(pid(1));
        });
      });

      it("for a new end not later than the end or beyond 32 bits", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
        await expectNothingChanged(ctx, pid(1), async () => {
          for (const newEnd of [record.endPeriod, record.endPeriod - 1n]) {
            await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
              .to.be.revertedWithCustomError(pm, "EndPeriodNotLater")
              .withArgs(pid(1), record.endPeriod, newEnd);
          }
          await expect(pm.connect(alice).extendPolicy(pid(1), record, 2n ** 32n))
            .to.be.revertedWithCustomError(pm, "InvalidEndPeriod")
            .withArgs(2n ** 32n, record.startPeriod);
        });
      });

      it("for a policy in its last period, revoked, or ended", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const ending = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 1n });
        const revokedBefore = await createPolicy(ctx, { id: pid(2), nodes: [nodes[1]], periods: 5n });
        const current = ending.startPeriod;
        await pm.connect(alice).revokePolicy(pid(2), revokedBefore);
        const revoked = { ...revokedBefore, endPeriod: current + 1n };
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(alice).extendPolicy(pid(1), ending, current + 5n))
            .to.be.revertedWithCustomError(pm, "PolicyInLastPeriod")
            .withArgs(pid(1), current + 1n, current);
          await expect(pm.connect(alice).extendPolicy(pid(2), revoked, current + 5n))
            .to.be.revertedWithCustomError(pm, "PolicyInLastPeriod")
            .withArgs(pid(2), current + 1n, current);
        });
        await advance();
        await expectNothingChanged(ctx, pid(1), async () => {
          for (const [id, record] of [
            [pid(1), ending],
            [pid(2), revoked],
          ] as const) {
            await expect(pm.connect(alice).extendPolicy(id, record, current + 5n))
              .to.be.revertedWithCustomError(pm, "PolicyEnded")
              .withArgs(id, current + 1n, current + 1n);
          }
        });
      });

      it("for a node whose lock does not cover the new end, an unbonded or unlocked node", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, alice, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 3), periods: 3n });
        const newEnd = record.endPeriod + 4n;
        await escrow.setLock(nodes[1].address, LOCKED, newEnd - 1n);
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(nodes[1].address, LOCKED, newEnd - 1n, newEnd);
        });
        // A lock ending exactly at the new end covers it.
        await escrow.setLock(nodes[1].address, LOCKED, newEnd);
        await escrow.setLock(nodes[2].address, 0n, newEnd);
        await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
          .to.be.revertedWithCustomError(pm, "NodeNotLocked")
          .withArgs(nodes[2].address, 0n, newEnd, newEnd);
        await escrow.setLock(nodes[2].address, LOCKED, newEnd);
        await escrow.setOperator(nodes[0].address, ethers.ZeroAddress);
        await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
          .to.be.revertedWithCustomError(pm, "NodeNotBonded")
          .withArgs(nodes[0].address);
        await escrow.setOperator(nodes[0].address, ctx.operators[0].address);
        await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd)).to.emit(pm, "PolicyExtended");
      });

      it("for a fee rate below a node's current minimum or outside the current range", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, deployer, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 2), periods: 3n });
        const newEnd = record.endPeriod + 1n;
        await pm.connect(nodes[1]).setMinFeeRate(nodes[1].address, RATE + UNIT);
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
            .to.be.revertedWithCustomError(pm, "FeeRateBelowNodeMinimum")
            .withArgs(nodes[1].address, RATE, RATE + UNIT);
        });
        await pm.connect(nodes[1]).setMinFeeRate(nodes[1].address, RATE);
        await pm.connect(deployer).setFeeRateRange(RATE + UNIT, MAX_RATE);
        await expect(pm.connect(alice).extendPolicy(pid(1), record, newEnd))
          .to.be.revertedWithCustomError(pm, "FeeRateOutOfRange")
          .withArgs(RATE, RATE + UNIT, MAX_RATE);
      });
    });
  });

  describe("moveSlot", function () {
    it("hands the slot over from the next period, in place, and settles the refund", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b, c, d] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b, c], periods: 6n });
      const from = record.startPeriod + 1n;
      // d is above every node: the list is no longer ascending, the slot keeps its index.
      await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, d.address))
        .to.emit(pm, "PolicySlotMoved")
        .withArgs(pid(1), 0n, a.address, d.address, from)
        .and.to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), from, RATE * 3n); // the start period, missed by all three
      const moved: PolicyRecord = { ...record, refundedThrough: from, nodes: [d.address, b.address, c.address] };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(moved));
      // a's rate now ends at `from`; d's runs to the end.
      expect(await pm.rateDropAt(a.address, record.endPeriod)).to.equal(0n);
      expect(await pm.rateDropAt(a.address, from)).to.equal(RATE);
      expect(await pm.rateDropAt(d.address, record.endPeriod)).to.equal(RATE);
      expect((await pm.getNodeFees(d.address)).rate).to.equal(RATE);
      await commit(ctx, a, d);
      expect(await fees(ctx, a)).to.equal(0n);
      expect(await fees(ctx, d)).to.equal(RATE);
    });

    it("never pays a period twice around the cut-over: old node committed ahead, new node committed ahead", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b, c] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 6n });
      await commit(ctx, a, b);
      await advance();
      // Period start + 1: a and c both committed ahead to start + 2 (c for other work, not this policy).
      await commit(ctx, a, c);
      expect(await fees(ctx, a)).to.equal(RATE * 2n);
      const from = record.startPeriod + 2n;
      // Both missed the start period: settled at the move.
      await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, c.address))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), from, RATE * 2n)
        .and.to.emit(pm, "PolicySlotMoved")
        .withArgs(pid(1), 0n, a.address, c.address, from);
      // a keeps start + 1 (final), loses the held credit for start + 2; c gets start + 2 at once.
      expect(await fees(ctx, a)).to.equal(RATE);
      expect(await fees(ctx, c)).to.equal(RATE);
      expect(await pm.pendingFees(c.address)).to.equal(0n); // held until start + 2 begins
      await advance();
      expect(await pm.pendingFees(a.address)).to.equal(RATE);
      await commit(ctx, a, b, c);
      expect(await fees(ctx, a)).to.equal(RATE);
      expect(await fees(ctx, c)).to.equal(RATE * 2n);
    });

    it("keeps the current period with the old node and the next one with the new node when neither committed ahead", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a], periods: 4n });
      await commit(ctx, a);
      await advance();
      // Period start + 1: a's commitment to it is final; b has never committed.
      await pm.connect(alice).moveSlot(pid(1), record, 0n, b.address);
      expect(await fees(ctx, a)).to.equal(RATE);
      await commit(ctx, a, b);
      expect(await fees(ctx, a)).to.equal(RATE);
      expect(await fees(ctx, b)).to.equal(RATE);
    });

    it("moves a slot twice in one period and back to a former node, exactly", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b, c] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a], periods: 4n });
      await commit(ctx, a, b, c);
      const from = record.startPeriod + 1n;
      await pm.connect(alice).moveSlot(pid(1), record, 0n, b.address);
      const toB = { ...record, refundedThrough: from, nodes: [b.address] };
      await pm.connect(alice).moveSlot(pid(1), toB, 0n, c.address);
      const toC = { ...toB, nodes: [c.address] };
      await pm.connect(alice).moveSlot(pid(1), toC, 0n, a.address);
      const back = { ...toC, nodes: [a.address] };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(back));
      expect([await fees(ctx, a), await fees(ctx, b), await fees(ctx, c)]).to.deep.equal([RATE, 0n, 0n]);
      for (let i = 0; i < 4; i++) {
        await advance();
        await commit(ctx, a, b, c);
      }
      expect([await fees(ctx, a), await fees(ctx, b), await fees(ctx, c)]).to.deep.equal([RATE * 3n, 0n, 0n]);
    });

    it("refunds and revokes exactly after a move: the old node's missed periods before, the new node's after", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, token, alice, nodes } = ctx;
      const [a, b, c] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 10n });
      const deposit = RATE * 10n * 2n;
      // a serves start + 1, then leaves; b serves throughout.
      await commit(ctx, a, b);
      for (let i = 0; i < 3; i++) {
        await advance();
        await commit(ctx, b);
      }
      // Period start + 3: a missed start, start + 2, start + 3; b missed start.
      const from = record.startPeriod + 4n;
      await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, c.address))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), from, RATE * 4n);
      const moved = { ...record, refundedThrough: from, nodes: [c.address, b.address] };
      // c misses from, commits to from + 1; b commits ahead to from already (done above).
      await advance();
      await commit(ctx, c, b);
      await advance();
      // Period from + 1: c missed `from` → one refund.
      await expect(pm.connect(alice).refund(pid(1), moved))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), from + 2n, RATE);
      const refunded = { ...moved, refundedThrough: from + 2n };
      const current = from + 1n;
      await expect(pm.connect(alice).revokePolicy(pid(1), refunded))
        .to.emit(pm, "PolicyRevoked")
        .withArgs(pid(1), alice.address, current + 1n, RATE * (record.endPeriod - current - 1n) * 2n);
      await advance(12);
      await commit(ctx, a, b, c);
      // Every node-period is credited or refunded, once.
      const credited = (await fees(ctx, a)) + (await fees(ctx, b)) + (await fees(ctx, c));
      expect(credited).to.equal(RATE * (1n + 5n + 1n));
      expect(await token.balanceOf(await pm.getAddress())).to.equal(credited);
      expect(ALICE_FUNDS - (await token.balanceOf(alice.address))).to.equal(credited);
      expect(deposit).to.be.greaterThan(credited);
    });

    it("extends after a move and moves after an extension", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const [a, b, c] = nodes;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 3n });
      const extended = { ...record, endPeriod: record.endPeriod + 3n };
      await pm.connect(alice).extendPolicy(pid(1), record, extended.endPeriod);
      await pm.connect(alice).moveSlot(pid(1), extended, 1n, c.address);
      const moved = { ...extended, refundedThrough: record.startPeriod + 1n, nodes: [a.address, c.address] };
      expect(await pm.rateDropAt(c.address, extended.endPeriod)).to.equal(RATE);
      expect(await pm.rateDropAt(b.address, extended.endPeriod)).to.equal(0n);
      const again = { ...moved, endPeriod: moved.endPeriod + 1n };
      await expect(pm.connect(alice).extendPolicy(pid(1), moved, again.endPeriod))
        .to.emit(pm, "PolicyExtended")
        .withArgs(pid(1), moved.endPeriod, again.endPeriod, RATE * 2n);
      expect(await pm.rateDropAt(c.address, again.endPeriod)).to.equal(RATE);
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(again));
    });

    describe("reverts, changing nothing", function () {
      it("for a caller other than the owner, a stale record and an index out of range", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, stranger, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 2), periods: 3n });
        const d = nodes[3].address;
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(stranger).moveSlot(pid(1), record, 0n, d))
            .to.be.revertedWithCustomError(pm, "NotPolicyOwner")
            .withArgs(pid(1), stranger.address, alice.address);
          await expect(pm.connect(alice).moveSlot(pid(1), { ...record, refundedThrough: 1n }, 0n, d))
            .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
            .withArgs(pid(1));
          await expect(pm.connect(alice).moveSlot(pid(1), record, 2n, d))
            .to.be.revertedWithCustomError(pm, "SlotIndexOutOfRange")
            .withArgs(2n, 2n);
        });
      });

      it("for a node already in the policy, the zero address, an unbonded node or one with a short lock", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, alice, stranger, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: nodes.slice(0, 3), periods: 3n });
        await escrow.setLock(nodes[3].address, LOCKED, record.endPeriod - 1n);
        await escrow.setLock(nodes[4].address, 0n, record.endPeriod);
        await expectNothingChanged(ctx, pid(1), async () => {
          for (const index of [0n, 2n]) {
            await expect(pm.connect(alice).moveSlot(pid(1), record, index, nodes[2].address))
              .to.be.revertedWithCustomError(pm, "DuplicateNode")
              .withArgs(nodes[2].address);
          }
          await expect(
            pm.connect(alice).moveSlot(pid(1), record, 0n, ethers.ZeroAddress),
          ).to.be.revertedWithCustomError(pm, "ZeroAddress");
          await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, stranger.address))
            .to.be.revertedWithCustomError(pm, "NodeNotBonded")
            .withArgs(stranger.address);
          await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, nodes[3].address))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(nodes[3].address, LOCKED, record.endPeriod - 1n, record.endPeriod);
          await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, nodes[4].address))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(nodes[4].address, 0n, record.endPeriod, record.endPeriod);
        });
        // A lock ending exactly at the policy's end covers it.
        await escrow.setLock(nodes[3].address, LOCKED, record.endPeriod);
        await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, nodes[3].address)).to.emit(pm, "PolicySlotMoved");
      });

      it("for a new node whose minimum is above the fee rate", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
        await pm.connect(nodes[1]).setMinFeeRate(nodes[1].address, RATE + UNIT);
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(alice).moveSlot(pid(1), record, 0n, nodes[1].address))
            .to.be.revertedWithCustomError(pm, "FeeRateBelowNodeMinimum")
            .withArgs(nodes[1].address, RATE, RATE + UNIT);
        });
      });

      it("for a policy in its last period, revoked, or ended", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const ending = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 1n });
        const live = await createPolicy(ctx, { id: pid(2), nodes: [nodes[1]], periods: 5n });
        const current = ending.startPeriod;
        await pm.connect(alice).revokePolicy(pid(2), live);
        const revoked = { ...live, endPeriod: current + 1n };
        const target = nodes[4].address;
        await expectNothingChanged(ctx, pid(1), async () => {
          await expect(pm.connect(alice).moveSlot(pid(1), ending, 0n, target))
            .to.be.revertedWithCustomError(pm, "PolicyInLastPeriod")
            .withArgs(pid(1), current + 1n, current);
          await expect(pm.connect(alice).moveSlot(pid(2), revoked, 0n, target))
            .to.be.revertedWithCustomError(pm, "PolicyInLastPeriod")
            .withArgs(pid(2), current + 1n, current);
        });
        await advance();
        await expect(pm.connect(alice).moveSlot(pid(1), ending, 0n, target))
          .to.be.revertedWithCustomError(pm, "PolicyEnded")
          .withArgs(pid(1), current + 1n, current + 1n);
      });
    });
  });
});
