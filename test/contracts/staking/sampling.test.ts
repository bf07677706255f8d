// Stake-weighted sampling (src/staking/sampling.ts), the schedule helpers, and sampling live nodes on-chain.
import { expect } from "chai";
import fc from "fast-check";
import { getAddress } from "ethers";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  InvalidSampleError,
  NotEnoughNodesError,
  issuanceRateForHalfLife,
  decodePage,
  loadActiveNodes,
  periodIssuance,
  projectIssuance,
  sampleNodes,
  type WeightedNode,
} from "../../../src/staking";
import { DEFAULT_ISSUANCE_RATE } from "../../../ignition/modules/KMS";
import { LOCKS, MIN_OPERATOR_PERIODS, advancePeriods, stakedFixture } from "./helpers";

const seed = (text: string) => new TextEncoder().encode(text);

function addr(i: number): string {
  return "0x" + i.toString(16).padStart(40, "0");
}

describe("staking toolkit", function () {
  describe("sampleNodes", function () {
    const nodes: WeightedNode[] = [
      { staker: addr(1), weight: 100n },
      { staker: addr(2), weight: 300n },
      { staker: addr(3), weight: 600n },
      { staker: addr(4), weight: 0n },
    ];

    it("is reproducible from the seed and independent of the candidates' order", function () {
      const a = sampleNodes(nodes, 2, seed("policy-1"));
      expect(sampleNodes([...nodes].reverse(), 2, seed("policy-1"))).to.deep.equal(a);
      expect(a).to.have.length(2);
      expect(new Set(a).size).to.equal(2);
    });

    it("picks distinct nodes, never one of zero weight", function () {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.integer({ min: 1, max: 3 }), (s, n) => {
          const picked = sampleNodes(nodes, n, s);
          expect(new Set(picked).size).to.equal(n);
          expect(picked).to.not.include(addr(4));
        }),
        { numRuns: 200 },
      );
    });

    it("draws first picks in proportion to stake", function () {
      const counts = new Map<string, number>();
      const runs = 3_000;
      for (let i = 0; i < runs; i++) {
        const [first] = sampleNodes(nodes, 1, seed(`draw-${i}`));
        counts.set(first, (counts.get(first) ?? 0) + 1);
      }
      // Expected 10% / 30% / 60%; 5 standard deviations of a binomial at 3,000 draws is under 4.5%.
      expect((counts.get(addr(1)) ?? 0) / runs).to.be.closeTo(0.1, 0.045);
      expect((counts.get(addr(2)) ?? 0) / runs).to.be.closeTo(0.3, 0.045);
      expect((counts.get(addr(3)) ?? 0) / runs).to.be.closeTo(0.6, 0.045);
    });

    it("rejects too few nodes, bad sizes, empty seeds and duplicates", function () {
      expect(() => sampleNodes(nodes, 4, seed("x"))).to.throw(
        NotEnoughNodesError,
        "cannot sample 4 distinct nodes: only 3",
      );
      expect(() => sampleNodes(nodes, 0, seed("x"))).to.throw(InvalidSampleError, "got 0");
      expect(() => sampleNodes(nodes, 1, new Uint8Array())).to.throw(InvalidSampleError, "seed");
      expect(() => sampleNodes([nodes[0], nodes[0]], 1, seed("x"))).to.throw(InvalidSampleError, "twice");
      expect(() => sampleNodes([{ staker: addr(9), weight: -1n }], 1, seed("x"))).to.throw(
        InvalidSampleError,
        "negative",
      );
      expect(() => sampleNodes([{ staker: "node-1", weight: 1n }], 1, seed("x"))).to.throw(
        InvalidSampleError,
        "candidate node-1 is not an address",
      );
    });

    it("orders candidates whatever their case and returns the draws checksummed (EIP-55)", function () {
      const mixed = [0xabc, 0xdef1, 0xfeed, 0xbeef].map((i) => ({ staker: getAddress(addr(i)), weight: 10n }));
      const lower = mixed.map((c) => ({ ...c, staker: c.staker.toLowerCase() }));
      const drawn = sampleNodes(mixed, 4, seed("case"));
      expect(sampleNodes(lower, 4, seed("case"))).to.deep.equal(drawn);
      expect(drawn.map((a) => getAddress(a))).to.deep.equal(drawn);
      expect(() =>
        sampleNodes(
          [{ ...lower[0], staker: lower[0].staker.toUpperCase().replace("0X", "0x") }, lower[1]],
          2,
          seed("x"),
        ),
      ).to.not.throw();
      // Mixed case that is not the address's checksum is a typo, not an address.
      // (0xabc has three letters: flipping the case of one leaves a mixed case the checksum does not match.)
      const typo = mixed[0].staker.replace(/[a-fA-F]/, (c) =>
        c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(),
      );
      expect(() => sampleNodes([{ staker: typo, weight: 1n }], 1, seed("x"))).to.throw(InvalidSampleError, "EIP-55");
    });
  });

  describe("schedule", function () {
    it("derives the deployed rate from a 730-period half-life", function () {
      expect(issuanceRateForHalfLife(730)).to.equal(DEFAULT_ISSUANCE_RATE);
      expect(() => issuanceRateForHalfLife(0)).to.throw(RangeError);
    });

    it("halves the unallocated reserve over one half-life", function () {
      const reserve = 750_000_000n * 10n ** 18n;
      const issued = projectIssuance(reserve, DEFAULT_ISSUANCE_RATE, 730).reduce((a, b) => a + b, 0n);
      const left = reserve - issued;
      // Within 0.0001% of half (rounding down per period keeps a hair more in the reserve).
      expect(left - reserve / 2n).to.be.greaterThanOrEqual(0n);
      expect(left - reserve / 2n).to.be.lessThan(reserve / 1_000_000n);
      expect(periodIssuance(reserve, DEFAULT_ISSUANCE_RATE)).to.equal(711_799_528_030_748_250_000_000n);
    });
  });

  describe("loadActiveNodes", function () {
    const KEY = "0x02" + "11".repeat(32);

    /** The staked fixture with a NodeDirectory in which alice's and bob's operators announced (carol's did not). */
    async function announcedFixture() {
      const fx = await stakedFixture();
      const nodeDirectory = await ethers.deployContract("NodeDirectory", [await fx.escrow.getAddress()]);
      await nodeDirectory.connect(fx.aliceOp).announce("http://127.0.0.1:9151", KEY);
      await nodeDirectory.connect(fx.bobOp).announce("http://127.0.0.1:9152", KEY);
      return { ...fx, nodeDirectory };
    }

    // The list's addresses are lower-case (see ActiveNode); these tests compare them with signers' EIP-55 ones.
    const summary = (nodes: { staker: string; weight: bigint }[]) => nodes.map((n) => [getAddress(n.staker), n.weight]);
    const stakersOf = (nodes: { staker: string }[]) => nodes.map((n) => getAddress(n.staker));

    it("returns announced, bonded, committing stakers with a live lock, weighted by it", async function () {
      const { escrow, nodeDirectory, aliceOp, bobOp, carolOp, alice, bob } = await loadFixture(announcedFixture);
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      await escrow.connect(carolOp).commitToNextPeriod();
      const contracts = { escrow, nodeDirectory };
      let nodes = await loadActiveNodes(contracts);
      // carol commits but never announced: nobody could reach her node.
      expect(summary(nodes)).to.deep.equal([
        [alice.address, LOCKS[0]],
        [bob.address, LOCKS[1]],
      ]);
      expect(nodes[0].operator).to.equal(aliceOp.address.toLowerCase());
      expect(nodes[0].staker).to.equal(alice.address.toLowerCase());
      // The sample of them is checksummed, as users and the policy records see addresses.
      expect([...sampleNodes(nodes, 2, seed("x"))].sort()).to.deep.equal([alice.address, bob.address].sort());
      // A node that stopped committing drops out once its last committed period is past.
      await advancePeriods(escrow, 1);
      await escrow.connect(aliceOp).commitToNextPeriod();
      await advancePeriods(escrow, 1);
      nodes = await loadActiveNodes(contracts);
      expect(stakersOf(nodes)).to.deep.equal([alice.address]);
      expect(await loadActiveNodes(contracts, { lockedUntil: 10n ** 9n })).to.deep.equal([]);
    });

    it("keeps only nodes whose lock lets them commit to every period before lockedUntil", async function () {
      const { escrow, nodeDirectory, aliceOp, alice } = await loadFixture(announcedFixture);
      await escrow.connect(aliceOp).commitToNextPeriod();
      const [, unlock] = await escrow.getLock(alice.address);
      const contracts = { escrow, nodeDirectory };
      // Committing to period p needs unlock > p + MIN_OPERATOR_PERIODS; the last servable period is lockedUntil - 1.
      expect(summary(await loadActiveNodes(contracts, { lockedUntil: unlock - MIN_OPERATOR_PERIODS }))).to.deep.equal([
        [alice.address, LOCKS[0]],
      ]);
      expect(await loadActiveNodes(contracts, { lockedUntil: unlock - MIN_OPERATOR_PERIODS + 1n })).to.deep.equal([]);
    });

    it("drops a node whose announcement was made by an operator it no longer has", async function () {
      const { escrow, nodeDirectory, bobOp, alice, stranger } = await loadFixture(announcedFixture);
      await escrow.connect(bobOp).commitToNextPeriod();
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      await escrow.connect(alice).bondOperator(stranger.address);
      await escrow.connect(stranger).confirmOperator(alice.address);
      await escrow.connect(stranger).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      const contracts = { escrow, nodeDirectory };
      expect(stakersOf(await loadActiveNodes(contracts))).to.not.include(alice.address);
      await nodeDirectory.connect(stranger).announce("http://127.0.0.1:9153", KEY);
      expect(stakersOf(await loadActiveNodes(contracts))).to.include(alice.address);
      expect(await nodeDirectory.nodeCount()).to.equal(2n); // a re-announcement adds no entry
    });

    it("reads the directory in pages: any page size gives the same nodes; a page over MAX_PAGE reverts", async function () {
      const { escrow, nodeDirectory, aliceOp, bobOp } = await loadFixture(announcedFixture);
      await escrow.connect(aliceOp).commitToNextPeriod();
      await escrow.connect(bobOp).commitToNextPeriod();
      const contracts = { escrow, nodeDirectory };
      const all = await loadActiveNodes(contracts);
      expect(await loadActiveNodes(contracts, { pageSize: 1 })).to.deep.equal(all);
      expect(await nodeDirectory.nodesPage(5n, 10n)).to.equal("0x");
      const [second] = decodePage(ethers.getBytes(await nodeDirectory.nodesPage(1n, 10n)));
      const info = await escrow.getStakerInfo(second.staker);
      expect(second).to.deep.equal({
        staker: second.staker,
        operator: info.operator,
        announcedOperator: info.operator,
        lockedValue: info.lockedValue,
        unlockPeriod: info.unlockPeriod,
        lastCommittedPeriod: info.lastCommittedPeriod,
      });
      await expect(nodeDirectory.nodesPage(0n, 1001n))
        .to.be.revertedWithCustomError(nodeDirectory, "NodeDirectoryPageTooLarge")
        .withArgs(1001n, 1000n);
      await expect(loadActiveNodes(contracts, { pageSize: 0 })).to.be.rejectedWith(RangeError);
    });
  });
});
