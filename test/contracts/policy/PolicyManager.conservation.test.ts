// Conservation of policy deposits, as a property over random histories: creations, extensions, slot moves,
// commitments (and misses), period changes, revocations, refunds and withdrawals in any order. A plain model
// replays the rules (a node earns a policy's rate for each policy period of its tenure of a slot it committed
// to; a move hands a slot over from the next period and settles the missed periods before it; the owner gets
// back each missed settled period and, on revocation, each period after the current one) and after every step
// the chain must agree:
//   for every policy: fees credited to its nodes + refunds + still-held deposit = deposit, to the wei;
//   the manager's balance = Σ still-held deposits + Σ fees credited and not withdrawn;
// and once every policy has ended and been refunded, and every node has withdrawn, the balance is exactly 0.
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { UNIT, advance, deployPolicyFixture, pid, type PolicyContext } from "./fixture";
import type { PolicyRecord } from "../../../src/policy";

type Action =
  | { kind: "create"; nodeMask: number; periods: number; units: number }
  | { kind: "extend"; policy: number; periods: number }
  | { kind: "move"; policy: number; slot: number; node: number }
  | { kind: "commit"; node: number }
  | { kind: "advance" }
  | { kind: "revoke"; policy: number }
  | { kind: "refund"; policy: number }
  | { kind: "withdraw"; node: number };

const NODES = 5;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      nodeMask: fc.integer({ min: 1, max: (1 << NODES) - 1 }),
      periods: fc.integer({ min: 1, max: 6 }),
      units: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("extend" as const),
      policy: fc.nat(20),
      periods: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      policy: fc.nat(20),
      slot: fc.nat(NODES - 1),
      node: fc.nat(NODES - 1),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("commit" as const), node: fc.nat(NODES - 1) }) },
  { weight: 3, arbitrary: fc.constant({ kind: "advance" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("revoke" as const), policy: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("refund" as const), policy: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), node: fc.nat(NODES - 1) }) },
);

/** One node's tenure of a slot: from `from` until the next tenure's start (or the policy's end). */
interface Tenure {
  node: number;
  from: bigint;
}

interface ModelPolicy {
  id: string;
  record: PolicyRecord;
  /** Per slot, its tenures oldest first; the last one holds the slot now. */
  slots: Tenure[][];
  deposit: bigint;
  refunded: bigint;
}

/** The node holding `slot` at period `p`. */
function holderAt(slot: Tenure[], p: bigint): number {
  let node = slot[0].node;
  for (const tenure of slot) if (tenure.from <= p) node = tenure.node;
  return node;
}

class Model {
  readonly commits = new Set<string>();
  readonly policies: ModelPolicy[] = [];
  readonly withdrawn: bigint[] = Array<bigint>(NODES).fill(0n);
  readonly lastCommit: bigint[] = Array<bigint>(NODES).fill(0n);

  committed(node: number, period: bigint): boolean {
    return this.commits.has(`${node}:${period}`);
  }

  /** What `node` earned from `policy`: its rate for each covered period of its tenures it committed to. */
  accruedFrom(policy: ModelPolicy, node: number): bigint {
    let total = 0n;
    for (const slot of policy.slots) {
      for (let p = policy.record.startPeriod; p < policy.record.endPeriod; p++) {
        if (holderAt(slot, p) === node && this.committed(node, p)) total += policy.record.feeRate;
      }
    }
    return total;
  }

  accruedByPolicy(policy: ModelPolicy): bigint {
    return [...Array(NODES).keys()].reduce((sum, n) => sum + this.accruedFrom(policy, n), 0n);
  }

  accruedByNode(node: number): bigint {
    return this.policies.reduce((sum, p) => sum + this.accruedFrom(p, node), 0n);
  }

  /** What refund() pays now: missed periods from refundedThrough to min(end, current + 1). */
  refundable(policy: ModelPolicy, current: bigint): { amount: bigint; through: bigint } {
    const r = policy.record;
    const to = current + 1n < r.endPeriod ? current + 1n : r.endPeriod;
    let missed = 0n;
    for (const slot of policy.slots) {
      for (let p = r.refundedThrough; p < to; p++) if (!this.committed(holderAt(slot, p), p)) missed++;
    }
    return { amount: missed * r.feeRate, through: to > r.refundedThrough ? to : r.refundedThrough };
  }
}

async function checkInvariants(ctx: PolicyContext, model: Model) {
  const pmAddress = await ctx.pm.getAddress();
  let held = 0n;
  for (const policy of model.policies) {
    const accrued = model.accruedByPolicy(policy);
    const still = policy.deposit - accrued - policy.refunded;
    expect(still >= 0n, `policy ${policy.id} over-spent: ${still}`).to.equal(true);
    held += still;
  }
  let unwithdrawn = 0n;
  for (let n = 0; n < NODES; n++) {
    const accrued = model.accruedByNode(n);
    const info = await ctx.pm.getNodeFees(ctx.nodes[n].address);
    // Everything ever credited to the node = withdrawn + still credited.
    expect(model.withdrawn[n] + info.fees, `node ${n} credited`).to.equal(accrued);
    unwithdrawn += info.fees;
  }
  expect(await ctx.token.balanceOf(pmAddress)).to.equal(held + unwithdrawn);
}

/** Successful extensions and moves over all runs: the property must have exercised them. */
const exercised = { extend: 0, move: 0 };

/** If `policy` has no period after the next one, expects `call` to revert saying so and returns true. */
async function expectNotLive(
  ctx: PolicyContext,
  policy: ModelPolicy,
  current: bigint,
  call: () => Promise<unknown>,
): Promise<boolean> {
  const end = policy.record.endPeriod;
  if (end > current + 1n) return false;
  await expect(call())
    .to.be.revertedWithCustomError(ctx.pm, end <= current ? "PolicyEnded" : "PolicyInLastPeriod")
    .withArgs(policy.id, end, current);
  return true;
}

async function apply(ctx: PolicyContext, model: Model, action: Action, counter: { next: number }) {
  const { pm, escrow, alice, nodes, token } = ctx;
  const current = await pm.getCurrentPeriod();
  switch (action.kind) {
    case "create": {
      const nodeIdx = [...Array(NODES).keys()].filter((i) => action.nodeMask & (1 << i));
      const id = pid(counter.next++);
      const feeRate = BigInt(action.units) * UNIT;
      const record: PolicyRecord = {
        owner: alice.address,
        startPeriod: current,
        endPeriod: current + BigInt(action.periods),
        refundedThrough: current,
        feeRate,
        nodes: nodeIdx.map((i) => nodes[i].address),
      };
      await pm.connect(alice).createPolicy(id, alice.address, record.nodes, record.endPeriod, feeRate);
      const deposit = feeRate * BigInt(action.periods) * BigInt(nodeIdx.length);
      model.policies.push({
        id,
        record,
        slots: nodeIdx.map((node) => [{ node, from: current }]),
        deposit,
        refunded: 0n,
      });
      break;
    }
    case "extend": {
      // Any existing policy (the index wraps), so that extensions and moves are frequent.
      const policy = model.policies[action.policy % Math.max(model.policies.length, 1)];
      if (!policy) return;
      const r = policy.record;
      const newEnd = r.endPeriod + BigInt(action.periods);
      const extend = () => pm.connect(alice).extendPolicy(policy.id, r, newEnd);
      if (await expectNotLive(ctx, policy, current, extend)) return;
      const added = r.feeRate * BigInt(action.periods) * BigInt(r.nodes.length);
      await expect(extend()).to.changeTokenBalance(token, alice, -added);
      policy.deposit += added;
      exercised.extend++;
      policy.record = { ...r, endPeriod: newEnd };
      break;
    }
    case "move": {
      const policy = model.policies[action.policy % Math.max(model.policies.length, 1)];
      if (!policy) return;
      const r = policy.record;
      const index = action.slot % r.nodes.length;
      const target = nodes[action.node].address;
      const move = () => pm.connect(alice).moveSlot(policy.id, r, index, target);
      if (await expectNotLive(ctx, policy, current, move)) return;
      if (r.nodes.includes(target)) {
        await expect(move()).to.be.revertedWithCustomError(pm, "DuplicateNode").withArgs(target);
        return;
      }
      const { amount } = model.refundable(policy, current);
      const before = await token.balanceOf(alice.address);
      await expect(move())
        .to.emit(pm, "PolicySlotMoved")
        .withArgs(policy.id, index, r.nodes[index], target, current + 1n);
      expect(await token.balanceOf(alice.address), "settled at the move").to.equal(before + amount);
      policy.refunded += amount;
      exercised.move++;
      policy.slots[index].push({ node: action.node, from: current + 1n });
      const moved = [...r.nodes];
      moved[index] = target;
      policy.record = { ...r, refundedThrough: current + 1n, nodes: moved };
      break;
    }
    case "commit": {
      if (model.lastCommit[action.node] === current + 1n) return;
      await escrow.commitToNextPeriod(nodes[action.node].address);
      model.lastCommit[action.node] = current + 1n;
      model.commits.add(`${action.node}:${current + 1n}`);
      break;
    }
    case "advance":
      await advance();
      break;
    case "revoke": {
      const policy = model.policies[action.policy];
      if (!policy) return;
      const r = policy.record;
      if (r.endPeriod <= current + 1n) {
        await expect(pm.connect(alice).revokePolicy(policy.id, r))
          .to.be.revertedWithCustomError(pm, "PolicyNotRevocable")
          .withArgs(policy.id, r.endPeriod, current);
        return;
      }
      const expected = r.feeRate * (r.endPeriod - current - 1n) * BigInt(r.nodes.length);
      await expect(pm.connect(alice).revokePolicy(policy.id, r)).to.changeTokenBalance(token, alice, expected);
      policy.refunded += expected;
      policy.record = { ...r, endPeriod: current + 1n };
      break;
    }
    case "refund": {
      const policy = model.policies[action.policy];
      if (!policy) return;
      const { amount, through } = model.refundable(policy, current);
      if (amount === 0n) {
        await expect(pm.connect(alice).refund(policy.id, policy.record))
          .to.be.revertedWithCustomError(pm, "NothingToRefund")
          .withArgs(policy.id);
        return;
      }
      await expect(pm.connect(alice).refund(policy.id, policy.record))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(policy.id, through, amount);
      policy.refunded += amount;
      policy.record = { ...policy.record, refundedThrough: through };
      break;
    }
    case "withdraw": {
      const node = nodes[action.node];
      const pending = await pm.pendingFees(node.address);
      if (pending === 0n) {
        await expect(pm.connect(node).withdrawFees()).to.be.revertedWithCustomError(pm, "NothingToWithdraw");
        return;
      }
      await expect(pm.connect(node).withdrawFees()).to.changeTokenBalance(token, node, pending);
      model.withdrawn[action.node] += pending;
      break;
    }
  }
}

describe("PolicyManager conservation (property)", function () {
  it("keeps credited + refunded + held = deposit for every policy, through any history", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 5, maxLength: 40 }), async (actions) => {
        const ctx = await loadFixture(deployPolicyFixture);
        const model = new Model();
        const counter = { next: 1 };
        for (const action of actions) {
          await apply(ctx, model, action, counter);
          await checkInvariants(ctx, model);
        }
        // Each node's running rate equals the sum of its pending scheduled decreases (none after the last end).
        const now = await ctx.pm.getCurrentPeriod();
        const lastEnd = model.policies.reduce((max, p) => (p.record.endPeriod > max ? p.record.endPeriod : max), now);
        for (const node of ctx.nodes.slice(0, NODES)) {
          const info = await ctx.pm.getNodeFees(node.address);
          let pending = 0n;
          // A cursor of 0 (never seen) has nothing scheduled: the loop is empty and the rate must be 0.
          for (let p = info.cursor + 1n; info.cursor !== 0n && p <= lastEnd; p++)
            pending += await ctx.pm.rateDropAt(node.address, p);
          expect(pending, `rate of ${node.address}`).to.equal(info.rate);
        }
        // Let everything end, settle every policy and empty every node: nothing may be left or missing.
        await advance(lastEnd - now + 2n);
        const current = await ctx.pm.getCurrentPeriod();
        for (const policy of model.policies) {
          const { amount, through } = model.refundable(policy, current);
          if (amount > 0n) {
            await ctx.pm.connect(ctx.alice).refund(policy.id, policy.record);
            policy.refunded += amount;
            policy.record = { ...policy.record, refundedThrough: through };
          }
          expect(model.accruedByPolicy(policy) + policy.refunded, `policy ${policy.id}`).to.equal(policy.deposit);
        }
        for (let n = 0; n < NODES; n++) {
          const pending = await ctx.pm.pendingFees(ctx.nodes[n].address);
          if (pending > 0n) await ctx.pm.connect(ctx.nodes[n]).withdrawFees();
          model.withdrawn[n] += pending;
        }
        await checkInvariants(ctx, model);
        expect(await ctx.token.balanceOf(await ctx.pm.getAddress())).to.equal(0n);
      }),
      { numRuns: 80 },
    );
    expect(exercised.extend, "successful extensions").to.be.greaterThan(5);
    expect(exercised.move, "successful slot moves").to.be.greaterThan(5);
  });
});
