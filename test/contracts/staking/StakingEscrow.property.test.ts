// Property test: random commitments, lock top-ups and slashes over several periods, checked against a plain
// model of the reward rules. Whatever the schedule and the minting order, every staker ends with exactly its
// model stake and lock, `lockedPerPeriod` and the issuances match the model, a period's rewards never exceed its
// issuance, and the reserve moves only by what is minted (out) and what slashing returns (in).
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { LOCKS, MIN_STAKE, RESERVE, advancePeriods, issuanceFrom, kms, share, stakedFixture } from "./helpers";

interface Action {
  staker: number;
  kind: "commit" | "topUp" | "slash";
  amount: number;
  rewardShare: number;
}

const action = fc.record({
  staker: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom<Action["kind"]>("commit", "commit", "commit", "topUp", "slash"),
  amount: fc.integer({ min: 1, max: 3_000 }),
  rewardShare: fc.integer({ min: 0, max: 100 }),
});

/** The escrow's reward rules written plainly: per-period weights, no packing, no O(1) tricks. */
class Model {
  readonly weights = new Map<bigint, bigint[]>();
  readonly issuance = new Map<bigint, bigint>();
  readonly committed: bigint[][] = [[], [], []];
  readonly locked = [...LOCKS];
  readonly stake = [...LOCKS];
  unallocated = RESERVE;
  minted = 0n;
  returned = 0n;
  paidToReporter = 0n;
  held: { taken: bigint; paid: bigint }[] = [];

  total(p: bigint): bigint {
    const w = this.weights.get(p) ?? [0n, 0n, 0n];
    return w[0] + w[1] + w[2];
  }

  reward(i: number, p: bigint): bigint {
    const total = this.total(p);
    return total === 0n ? 0n : share(this.weights.get(p)![i], this.issuance.get(p)!, total);
  }

  pending(i: number, current: bigint): bigint {
    return this.committed[i].filter((p) => p < current).reduce((sum, p) => sum + this.reward(i, p), 0n);
  }

  settle(i: number, current: bigint): void {
    const reward = this.pending(i, current);
    this.stake[i] += reward;
    this.minted += reward;
    this.committed[i] = this.committed[i].filter((p) => p >= current);
  }

  addWeight(p: bigint, i: number, v: bigint): void {
    if (this.total(p) === 0n) {
      const issuance = issuanceFrom(this.unallocated);
      this.issuance.set(p, issuance);
      this.unallocated -= issuance;
    }
    const w = this.weights.get(p) ?? [0n, 0n, 0n];
    w[i] += v;
    this.weights.set(p, w);
  }

  subWeight(p: bigint, i: number, v: bigint): void {
    this.weights.get(p)![i] -= v;
    if (this.total(p) === 0n) {
      this.unallocated += this.issuance.get(p)!;
      this.issuance.set(p, 0n);
    }
  }

  commit(i: number, current: bigint): void {
    this.settle(i, current);
    this.committed[i].push(current + 1n);
    this.addWeight(current + 1n, i, this.locked[i]);
  }

  topUp(i: number, current: bigint, v: bigint): void {
    this.settle(i, current);
    this.stake[i] += v;
    this.locked[i] += v;
    // The later open period first, as the escrow's `lock` does: when a slash emptied both open periods, the one
    // re-opened first takes its issuance from the larger reserve.
    for (const p of [...this.committed[i]].reverse()) this.addWeight(p, i, v);
  }

  slash(i: number, current: bigint, penalty: bigint, reward: bigint): { taken: bigint; paid: bigint } {
    this.settle(i, current);
    const taken = penalty < this.stake[i] ? penalty : this.stake[i];
    const paid = reward < taken ? reward : taken;
    this.stake[i] -= taken;
    if (this.locked[i] > this.stake[i]) {
      const cut = this.locked[i] - this.stake[i];
      this.locked[i] = this.stake[i];
      for (const p of this.committed[i]) this.subWeight(p, i, cut);
    }
    // Held by the escrow until the adjudicator settles it ({settleHeld}).
    this.held.push({ taken, paid });
    return { taken, paid };
  }

  /** The adjudicator's settlements of every held penalty: the reporter's part paid, the rest to the reserve. */
  settleHeld(): { taken: bigint; paid: bigint }[] {
    const settled = this.held;
    this.held = [];
    for (const { taken, paid } of settled) {
      this.unallocated += taken - paid;
      this.returned += taken - paid;
      this.paidToReporter += paid;
    }
    return settled;
  }
}

describe("StakingEscrow properties", function () {
  it("matches the plain model of rewards, locks and slashing, whatever the schedule", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(action, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 2, 0]),
        async (schedule: Action[][], mintOrder: readonly number[]) => {
          const { escrow, token, stakers, operators, adjudicator, reporter } = await loadFixture(stakedFixture);
          await escrow.setAdjudicator(adjudicator.address);
          const reporterBefore = await token.balanceOf(reporter.address);
          const model = new Model();
          const offences = [0n, 0n, 0n];

          for (const period of schedule) {
            const current = await escrow.getCurrentPeriod();
            for (const { staker: i, kind, amount, rewardShare } of period) {
              const v = kms(amount);
              if (kind === "commit") {
                // Skip what the escrow must refuse (tested elsewhere): a second commit, an empty lock.
                if (model.committed[i].includes(current + 1n) || model.locked[i] === 0n) continue;
                await escrow.connect(operators[i]).commitToNextPeriod();
                model.commit(i, current);
              } else if (kind === "topUp") {
                if (model.locked[i] + v < MIN_STAKE) continue;
                await escrow.connect(stakers[i]).deposit(v);
                await escrow.connect(stakers[i]).lock(v, 0n);
                model.topUp(i, current, v);
              } else {
                const reward = (v * BigInt(rewardShare)) / 100n;
                const { taken, paid } = model.slash(i, current, v, reward);
                await expect(escrow.connect(adjudicator).slash(stakers[i].address, v, reporter.address, reward))
                  .to.emit(escrow, "Slashed")
                  .withArgs(stakers[i].address, taken, reporter.address, paid, ++offences[i]);
              }
            }
            // Penalties are held, outside the reserve, until settled; the period's commitments above saw them so.
            const held = model.held.reduce((sum, h) => sum + h.taken, 0n);
            expect(await escrow.heldPenalties()).to.equal(held);
            for (const { taken, paid } of model.settleHeld()) {
              await escrow.connect(adjudicator).settlePenalty(reporter.address, taken, paid);
            }
            expect(await escrow.heldPenalties()).to.equal(0n);
            await advancePeriods(escrow, 1);
          }
          await advancePeriods(escrow, 1);

          for (const [p, w] of model.weights) {
            expect(await escrow.lockedPerPeriod(p)).to.equal(w[0] + w[1] + w[2]);
            expect(await escrow.issuanceOf(p)).to.equal(model.issuance.get(p));
            const paid = [0, 1, 2].reduce((sum, i) => sum + model.reward(i, p), 0n);
            expect(paid).to.be.lessThanOrEqual(model.issuance.get(p)!);
          }
          expect(await escrow.unallocatedReserve()).to.equal(model.unallocated);

          const current = await escrow.getCurrentPeriod();
          for (const i of mintOrder) {
            const pending = model.pending(i, current);
            expect(await escrow.pendingReward(stakers[i].address)).to.equal(pending);
            if (pending > 0n) await escrow.connect(stakers[i]).mint();
            model.settle(i, current);
            expect(await escrow.stakeOf(stakers[i].address)).to.equal(model.stake[i]);
            expect((await escrow.getLock(stakers[i].address))[0]).to.equal(model.locked[i]);
          }

          const balance = await token.balanceOf(await escrow.getAddress());
          const stakes = model.stake.reduce((a, b) => a + b, 0n);
          expect(balance - stakes).to.equal(RESERVE - model.minted + model.returned);
          expect((await token.balanceOf(reporter.address)) - reporterBefore).to.equal(model.paidToReporter);
        },
      ),
      { numRuns: 40 },
    );
  });
});
