// Property test: random commitments and lock top-ups over several periods, checked against a plain model of
// the reward rules. Whatever the schedule, every staker gets exactly its model reward, a period's rewards
// never exceed its issuance, and the reserve shrinks by exactly what is minted.
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { LOCKS, RESERVE, advancePeriods, issuanceFrom, kms, share, stakedFixture } from "./helpers";

interface Action {
  staker: number;
  kind: "commit" | "topUp";
  amount: number;
}

const action = fc.record({
  staker: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom<"commit" | "topUp">("commit", "commit", "topUp"),
  amount: fc.integer({ min: 1, max: 5_000 }),
});

describe("StakingEscrow properties", function () {
  it("pays every staker its exact proportional share of each committed period", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(action, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 2, 0]),
        async (schedule: Action[][], mintOrder: readonly number[]) => {
          const { escrow, token, stakers, operators } = await loadFixture(stakedFixture);
          // The model: per period, each staker's weight and the total; the issuance fixed on first stake.
          const weights = new Map<bigint, bigint[]>();
          const issuance = new Map<bigint, bigint>();
          const committed: bigint[][] = [[], [], []];
          const locked = [...LOCKS];
          const deposited = [...LOCKS];
          let unallocated = RESERVE;
          const addWeight = (p: bigint, i: number, v: bigint) => {
            const w = weights.get(p) ?? [0n, 0n, 0n];
            if (w[0] + w[1] + w[2] === 0n) {
              const iss = issuanceFrom(unallocated);
              issuance.set(p, iss);
              unallocated -= iss;
            }
            w[i] += v;
            weights.set(p, w);
          };

          for (const period of schedule) {
            const current = await escrow.getCurrentPeriod();
            for (const { staker: i, kind, amount } of period) {
              if (kind === "commit") {
                if (committed[i].includes(current + 1n)) continue;
                await escrow.connect(operators[i]).commitToNextPeriod();
                committed[i].push(current + 1n);
                addWeight(current + 1n, i, locked[i]);
              } else {
                const v = kms(amount);
                await escrow.connect(stakers[i]).deposit(v);
                await escrow.connect(stakers[i]).lock(v, 0n);
                deposited[i] += v;
                locked[i] += v;
                for (const p of committed[i]) if (p >= current) addWeight(p, i, v);
              }
            }
            await advancePeriods(escrow, 1);
          }
          await advancePeriods(escrow, 1);

          for (const [p, w] of weights) {
            expect(await escrow.lockedPerPeriod(p)).to.equal(w[0] + w[1] + w[2]);
            expect(await escrow.issuanceOf(p)).to.equal(issuance.get(p));
          }
          expect(await escrow.unallocatedReserve()).to.equal(unallocated);

          let minted = 0n;
          for (const i of mintOrder) {
            let reward = 0n;
            for (const p of committed[i]) {
              const w = weights.get(p)!;
              reward += share(w[i], issuance.get(p)!, w[0] + w[1] + w[2]);
            }
            if ((await escrow.pendingReward(stakers[i].address)) > 0n) await escrow.connect(stakers[i]).mint();
            expect(await escrow.stakeOf(stakers[i].address)).to.equal(deposited[i] + reward);
            minted += reward;
          }
          for (const [p, w] of weights) {
            const total = w[0] + w[1] + w[2];
            const paid = w.reduce((sum, wi) => sum + share(wi, issuance.get(p)!, total), 0n);
            expect(paid).to.be.lessThanOrEqual(issuance.get(p)!);
          }
          const balance = await token.balanceOf(await escrow.getAddress());
          const stakes = deposited.reduce((a, b) => a + b, 0n) + minted;
          expect(balance - stakes).to.equal(RESERVE - minted);
        },
      ),
      { numRuns: 12 },
    );
  });
});
