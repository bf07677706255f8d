// PolicyManager: policy creation and its checks, fee accrual through escrow commitments (one period ahead),
// withdrawals, refunds of missed periods, revocation (by the owner or a signature) and the owner's settings.
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { signPermit } from "../../../src/token/permit";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ALICE_FUNDS,
  DAY,
  LOCKED,
  MAX_RATE,
  MIN_RATE,
  RATE,
  UNIT,
  advance,
  createPolicy,
  deployPolicyFixture,
  pid,
  type PolicyContext,
} from "./fixture";
import { hashPolicyRecord, signRevoke, type PolicyRecord } from "../../../src/policy";

/** Runs `action`, expecting it to revert, and checks no token balance of the actors moved. */
async function expectNoTokensMoved(ctx: PolicyContext, action: () => Promise<void>) {
  const watched = [ctx.alice, ctx.bob, ctx.stranger, ...ctx.nodes].map((s) => s.address);
  watched.push(await ctx.pm.getAddress());
  const before = await Promise.all(watched.map((a) => ctx.token.balanceOf(a)));
  await action();
  const after = await Promise.all(watched.map((a) => ctx.token.balanceOf(a)));
  expect(after).to.deep.equal(before);
}

async function signRevocation(ctx: PolicyContext, owner: HardhatEthersSigner, id: string, deadline: bigint) {
  const { chainId } = await ethers.provider.getNetwork();
  const nonce = await ctx.pm.nonces(owner.address);
  return signRevoke(owner, chainId, await ctx.pm.getAddress(), { policyId: id, nonce, deadline });
}

describe("PolicyManager", function () {
  describe("deployment", function () {
    it("reads the token and period length from the escrow and sets owner and fee-rate range", async function () {
      const { pm, token, escrow, deployer } = await loadFixture(deployPolicyFixture);
      expect(await pm.token()).to.equal(await token.getAddress());
      expect(await pm.escrow()).to.equal(await escrow.getAddress());
      expect(await pm.periodDuration()).to.equal(DAY);
      expect(await pm.owner()).to.equal(deployer.address);
      expect(await pm.feeRateRange()).to.deep.equal([MIN_RATE, MAX_RATE]);
      expect(await pm.MAX_NODES()).to.equal(32n);
      expect(await pm.getCurrentPeriod()).to.equal(BigInt(await time.latest()) / DAY);
    });

    it("rejects a zero escrow, an inverted range and a token supply of 2^64 fee units", async function () {
      const { token, escrow, deployer } = await loadFixture(deployPolicyFixture);
      const factory = await ethers.getContractFactory("PolicyManager");
      await expect(factory.deploy(ethers.ZeroAddress, deployer.address, 1n, 2n)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      await expect(factory.deploy(escrow, deployer.address, 3n, 2n))
        .to.be.revertedWithCustomError(factory, "InvalidFeeRateRange")
        .withArgs(3n, 2n);
      const big = 2n ** 64n * UNIT;
      const bigToken = await ethers.deployContract("KMSToken", [deployer.address, big]);
      const bigEscrow = await ethers.deployContract("PolicyEscrowMock", [bigToken, DAY]);
      await expect(factory.deploy(bigEscrow, deployer.address, 1n, 2n))
        .to.be.revertedWithCustomError(factory, "TokenSupplyTooLarge")
        .withArgs(big);
      expect(await token.totalSupply()).to.be.lessThan(big);
    });
  });

  describe("createPolicy", function () {
    it("takes feeRate × periods × nodes from the payer and commits to the record", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, token, alice, nodes } = ctx;
      const start = await pm.getCurrentPeriod();
      const list = nodes.slice(0, 3).map((n) => n.address);
      const deposit = RATE * 10n * 3n;
      await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, start + 10n, RATE))
        .to.emit(pm, "PolicyCreated")
        .withArgs(pid(1), alice.address, start, start + 10n, RATE, list)
        .and.to.emit(token, "Transfer")
        .withArgs(alice.address, await pm.getAddress(), deposit);
      expect(await token.balanceOf(alice.address)).to.equal(ALICE_FUNDS - deposit);
      expect(await token.balanceOf(await pm.getAddress())).to.equal(deposit);
      const record: PolicyRecord = {
        owner: alice.address,
        startPeriod: start,
        endPeriod: start + 10n,
        refundedThrough: start,
        feeRate: RATE,
        nodes: list,
      };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(record));
      expect(await pm.hashPolicy(record)).to.equal(hashPolicyRecord(record));
    });

    it("lets the payer name another owner", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const record = await createPolicy(ctx, {
        id: pid(1),
        nodes: ctx.nodes.slice(0, 1),
        periods: 2n,
        owner: ctx.bob.address,
      });
      expect(record.owner).to.equal(ctx.bob.address);
      expect(await ctx.pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(record));
    });

    it("schedules the rate decrease at the end and raises each node's rate at once", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const record = await createPolicy(ctx, { id: pid(1), nodes: ctx.nodes.slice(0, 2), periods: 5n });
      for (const node of ctx.nodes.slice(0, 2)) {
        expect(await ctx.pm.rateDropAt(node.address, record.endPeriod)).to.equal(RATE);
        const info = await ctx.pm.getNodeFees(node.address);
        expect(info.rate).to.equal(RATE);
        expect(info.cursor).to.equal(record.startPeriod);
        expect(info.fees).to.equal(0n);
      }
    });

    describe("with a permit", function () {
      it("creates the policy in one transaction without a prior approval", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, token, bob, nodes } = ctx;
        await token.transfer(bob.address, 10n ** 20n);
        const start = await pm.getCurrentPeriod();
        const deposit = RATE * 4n;
        // Signed for one period more than the deposit: still valid if the period turned before mining.
        const value = deposit + RATE;
        const deadline = BigInt(await time.latest()) + 3600n;
        const sig = await signPermit(token, bob, { spender: await pm.getAddress(), value, deadline, nonce: 0n });
        const create = () =>
          pm.connect(bob).createPolicyWithPermit(pid(7), bob.address, [nodes[0].address], start + 4n, RATE, {
            value,
            deadline,
            v: sig.v,
            r: sig.r,
            s: sig.s,
          });
        const snapshot = await ethers.provider.send("evm_snapshot", []);
        await expect(create())
          .to.emit(pm, "PolicyCreated")
          .withArgs(pid(7), bob.address, start, start + 4n, RATE, [nodes[0].address]);
        expect(await token.balanceOf(await pm.getAddress())).to.equal(deposit);
        expect(await token.allowance(bob.address, await pm.getAddress())).to.equal(RATE);
        await ethers.provider.send("evm_revert", [snapshot]);
        // A front-runner spends the permit first: the call still succeeds on the allowance it set.
        await token.permit(bob.address, await pm.getAddress(), value, deadline, sig.v, sig.r, sig.s);
        await expect(create()).to.emit(pm, "PolicyCreated");
        expect(await token.balanceOf(await pm.getAddress())).to.equal(deposit);
        expect(await token.allowance(bob.address, await pm.getAddress())).to.equal(RATE);
      });

      it("fails on the transfer when neither the permit nor an allowance covers the deposit", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, token, bob, nodes } = ctx;
        await token.transfer(bob.address, 10n ** 20n);
        const start = await pm.getCurrentPeriod();
        const z = ethers.ZeroHash;
        await expect(
          pm.connect(bob).createPolicyWithPermit(pid(7), bob.address, [nodes[0].address], start + 4n, RATE, {
            value: RATE * 4n,
            deadline: 0n,
            v: 27,
            r: z,
            s: z,
          }),
        )
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await pm.getAddress(), 0n, RATE * 4n);
      });
    });

    describe("reverts, moving no tokens", function () {
      it("on a duplicate policy id", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        await createPolicy(ctx, { id: pid(1), nodes: ctx.nodes.slice(0, 1), periods: 3n });
        const start = await ctx.pm.getCurrentPeriod();
        await expectNoTokensMoved(ctx, async () => {
          await expect(
            ctx.pm.connect(ctx.alice).createPolicy(pid(1), ctx.alice.address, [ctx.nodes[1].address], start + 3n, RATE),
          )
            .to.be.revertedWithCustomError(ctx.pm, "PolicyAlreadyExists")
            .withArgs(pid(1));
        });
      });

      it("on an empty node list, more than 32 nodes, a duplicate and a descending pair", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const end = (await pm.getCurrentPeriod()) + 3n;
        const [a, b] = [nodes[0].address, nodes[1].address];
        const many = Array.from({ length: 33 }, (_, i) => ethers.zeroPadValue(ethers.toBeHex(i + 1), 20));
        await expectNoTokensMoved(ctx, async () => {
          await expect(
            pm.connect(alice).createPolicy(pid(1), alice.address, [], end, RATE),
          ).to.be.revertedWithCustomError(pm, "EmptyNodeList");
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, many, end, RATE))
            .to.be.revertedWithCustomError(pm, "TooManyNodes")
            .withArgs(33n, 32n);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [a, b, b], end, RATE))
            .to.be.revertedWithCustomError(pm, "DuplicateNode")
            .withArgs(b);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [b, a], end, RATE))
            .to.be.revertedWithCustomError(pm, "NodesNotAscending")
            .withArgs(1n);
        });
      });

      it("on an unbonded node, an unlocked node and a lock that ends before the policy", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, alice, nodes, stranger } = ctx;
        const start = await pm.getCurrentPeriod();
        await escrow.setLock(stranger.address, LOCKED, start + 100n);
        await escrow.setOperator(nodes[1].address, ethers.ZeroAddress);
        await escrow.setLock(nodes[2].address, 0n, start + 100n);
        await escrow.setLock(nodes[3].address, LOCKED, start + 5n);
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [stranger.address], start + 3n, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotBonded")
            .withArgs(stranger.address);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [nodes[1].address], start + 3n, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotBonded")
            .withArgs(nodes[1].address);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [nodes[2].address], start + 3n, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(nodes[2].address, 0n, start + 100n, start + 3n);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [nodes[3].address], start + 6n, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(nodes[3].address, LOCKED, start + 5n, start + 6n);
        });
        // A lock ending exactly at the policy's end covers every policy period.
        await createPolicy(ctx, { id: pid(2), nodes: [nodes[3]], periods: 5n });
      });

      it("on a fee rate outside the range or below a node's minimum", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const end = (await pm.getCurrentPeriod()) + 3n;
        const nodeMin = RATE + UNIT;
        await pm.connect(nodes[1]).setMinFeeRate(nodes[1].address, nodeMin);
        const list = [nodes[0].address, nodes[1].address];
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, MIN_RATE - 1n))
            .to.be.revertedWithCustomError(pm, "FeeRateOutOfRange")
            .withArgs(MIN_RATE - 1n, MIN_RATE, MAX_RATE);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, MAX_RATE + 1n))
            .to.be.revertedWithCustomError(pm, "FeeRateOutOfRange")
            .withArgs(MAX_RATE + 1n, MIN_RATE, MAX_RATE);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, RATE))
            .to.be.revertedWithCustomError(pm, "FeeRateBelowNodeMinimum")
            .withArgs(nodes[1].address, RATE, nodeMin);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, nodeMin + 1n))
            .to.be.revertedWithCustomError(pm, "FeeRateNotMultipleOfUnit")
            .withArgs(nodeMin + 1n, UNIT);
        });
        await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, nodeMin)).to.emit(
          pm,
          "PolicyCreated",
        );
      });

      it("when the escrow's staker view fails", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, alice, nodes } = ctx;
        const end = (await pm.getCurrentPeriod()) + 3n;
        await escrow.setBroken(true);
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, [nodes[0].address], end, RATE))
            .to.be.revertedWithCustomError(pm, "EscrowCallFailed")
            .withArgs(nodes[0].address);
          // Two or more nodes are read in one batch call; when it fails, the per-node views name the node.
          const list = [nodes[0].address, nodes[1].address, nodes[2].address].sort((a, b) =>
            BigInt(a) < BigInt(b) ? -1 : 1,
          );
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, RATE))
            .to.be.revertedWithCustomError(pm, "EscrowCallFailed")
            .withArgs(list[0]);
        });
      });

      it("names the node at fault in a batch-read list, as node by node", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, alice, nodes } = ctx;
        const end = (await pm.getCurrentPeriod()) + 3n;
        const list = [nodes[0].address, nodes[1].address, nodes[2].address].sort((a, b) =>
          BigInt(a) < BigInt(b) ? -1 : 1,
        );
        await expectNoTokensMoved(ctx, async () => {
          await escrow.setOperator(list[1], ethers.ZeroAddress);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotBonded")
            .withArgs(list[1]);
          await escrow.setOperator(list[1], list[1]);
          await escrow.setLock(list[2], 1n, end - 1n);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, end, RATE))
            .to.be.revertedWithCustomError(pm, "NodeNotLocked")
            .withArgs(list[2], 1n, end - 1n, end);
        });
      });

      it("on an end period not after the current one or beyond 32 bits, and on a zero owner", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, nodes } = ctx;
        const current = await pm.getCurrentPeriod();
        const list = [nodes[0].address];
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, current, RATE))
            .to.be.revertedWithCustomError(pm, "InvalidEndPeriod")
            .withArgs(current, current);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, current - 1n, RATE))
            .to.be.revertedWithCustomError(pm, "InvalidEndPeriod")
            .withArgs(current - 1n, current);
          await expect(pm.connect(alice).createPolicy(pid(1), alice.address, list, 2n ** 32n, RATE))
            .to.be.revertedWithCustomError(pm, "InvalidEndPeriod")
            .withArgs(2n ** 32n, current);
          await expect(
            pm.connect(alice).createPolicy(pid(1), ethers.ZeroAddress, list, current + 1n, RATE),
          ).to.be.revertedWithCustomError(pm, "ZeroAddress");
        });
      });
    });
  });

  describe("fee accrual", function () {
    it("credits a node its policies' rates for each period it commits to, whatever their number", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes } = ctx;
      const n = nodes[0];
      const a = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 3n });
      await createPolicy(ctx, { id: pid(2), nodes: [n, nodes[1]], periods: 10n, rate: 2n * RATE });
      // Commit to start+1, start+2, start+3: the first policy covers start+1 and start+2 only.
      await expect(escrow.commitToNextPeriod(n.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(n.address, a.startPeriod + 1n, anyValue, 3n * RATE);
      await advance();
      await expect(escrow.commitToNextPeriod(n.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(n.address, a.startPeriod + 2n, anyValue, 3n * RATE);
      await advance();
      await expect(escrow.commitToNextPeriod(n.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(n.address, a.startPeriod + 3n, anyValue, 2n * RATE);
      expect(await pm.rateDropAt(n.address, a.endPeriod)).to.equal(0n); // applied and cleared
      expect(await pm.hasCommitted(n.address, a.startPeriod)).to.equal(false);
      expect(await pm.hasCommitted(n.address, a.startPeriod + 3n)).to.equal(true);
      // The credit for the next period (start+3) is held until that period begins.
      expect(await pm.pendingFees(n.address)).to.equal(6n * RATE);
      await advance();
      expect(await pm.pendingFees(n.address)).to.equal(8n * RATE);
    });

    it("applies the decreases of every skipped period when a node comes back", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { escrow, nodes } = ctx;
      const n = nodes[0];
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 3n });
      await createPolicy(ctx, { id: pid(2), nodes: [n], periods: 20n });
      await advance(5);
      await expect(escrow.commitToNextPeriod(n.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(n.address, p.startPeriod + 6n, anyValue, RATE);
    });

    it("credits at creation the current and next periods a node already committed to", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes } = ctx;
      const [n] = nodes;
      // Committed to the current period (during the previous one) and to the next.
      await escrow.commitToNextPeriod(n.address);
      await advance();
      await escrow.commitToNextPeriod(n.address);
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 4n });
      const info = await pm.getNodeFees(n.address);
      expect(info.cursor).to.equal(p.startPeriod + 1n);
      expect(info.fees).to.equal(2n * RATE);
      expect(info.rate).to.equal(RATE);
      expect(await pm.pendingFees(n.address)).to.equal(RATE); // the current period's credit
      // A policy of one period covers only the current one: credited, and not in the next period's rate.
      await createPolicy(ctx, { id: pid(2), nodes: [n], periods: 1n });
      expect((await pm.getNodeFees(n.address)).fees).to.equal(3n * RATE);
      expect((await pm.getNodeFees(n.address)).rate).to.equal(RATE);
    });

    it("credits only the next period when the node missed the current one, which is refundable", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes, alice } = ctx;
      const [n] = nodes;
      await escrow.commitToNextPeriod(n.address);
      await advance(2);
      await escrow.commitToNextPeriod(n.address); // commits to current+1; current was missed
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 4n });
      expect((await pm.getNodeFees(n.address)).fees).to.equal(RATE);
      expect(await pm.refundable(pid(1), p)).to.deep.equal([RATE, p.startPeriod + 1n]);
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 1n, RATE);
    });

    it("pays nothing for periods after the end", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes } = ctx;
      await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 2n });
      await escrow.commitToNextPeriod(nodes[0].address);
      await advance();
      const before = (await pm.getNodeFees(nodes[0].address)).fees;
      await expect(escrow.commitToNextPeriod(nodes[0].address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(nodes[0].address, anyValue, anyValue, 0n); // nothing credited
      expect((await pm.getNodeFees(nodes[0].address)).fees).to.equal(before);
    });

    it("costs a returning node no catch-up once its policies have ended, however long it was away", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes } = ctx;
      const [a, b] = nodes;
      await createPolicy(ctx, { id: pid(1), nodes: [a], periods: 2n });
      await escrow.commitToNextPeriod(a.address);
      await escrow.commitToNextPeriod(b.address);
      await advance(300);
      const far = await (await escrow.commitToNextPeriod(a.address)).wait();
      const near = await (await escrow.commitToNextPeriod(b.address)).wait();
      // a applied its one decrease (then stopped: its rate reached 0); b had nothing to apply.
      expect(far!.gasUsed - near!.gasUsed).to.be.lessThan(3_000n);
      expect((await pm.getNodeFees(a.address)).rate).to.equal(0n);
    });

    it("accepts commitments only from the escrow and only after the node's cursor", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes, stranger } = ctx;
      await expect(pm.connect(stranger).onCommit(nodes[0].address, 5n))
        .to.be.revertedWithCustomError(pm, "NotEscrow")
        .withArgs(stranger.address);
      const next = (await pm.getCurrentPeriod()) + 1n;
      await escrow.commitToNextPeriod(nodes[0].address);
      await expect(escrow.rawCommit(nodes[0].address, next))
        .to.be.revertedWithCustomError(pm, "CommitNotAfterCursor")
        .withArgs(nodes[0].address, next, next);
    });

    it("keeps every commitment across 16-period blocks of commitment bits, also a block left by syncNode", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, token, alice, nodes } = ctx;
      const [n] = nodes;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 40n });
      // Commit in period start+k (to start+k+1) when k % 3 != 0, except for a long gap 20..37 in which a stranger
      // moves the cursor by syncNode; one last commitment at k = 38. Spans at least two block boundaries.
      const committed = new Set<bigint>();
      for (let k = 0n; k < 39n; k++) {
        if (k === 30n) await pm.syncNode(n.address, p.startPeriod + k);
        if ((k % 3n !== 0n && k < 20n) || k === 38n) {
          await escrow.commitToNextPeriod(n.address);
          committed.add(p.startPeriod + k + 1n);
        }
        await advance();
      }
      for (let q = p.startPeriod; q < p.endPeriod; q++) {
        expect(await pm.hasCommitted(n.address, q), `period start+${q - p.startPeriod}`).to.equal(committed.has(q));
      }
      // Now start+39: every period of the policy is settled; each one without a commitment is refunded.
      const missed = 40n - BigInt(committed.size);
      const before = await token.balanceOf(alice.address);
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.endPeriod, missed * RATE);
      expect(await token.balanceOf(alice.address)).to.equal(before + missed * RATE);
    });

    describe("syncNode", function () {
      it("applies a long-idle node's decreases in steps without crediting anything", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, escrow, nodes, stranger } = ctx;
        const [n] = nodes;
        const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 3n });
        await advance(10);
        await expect(pm.connect(stranger).syncNode(n.address, p.startPeriod + 5n))
          .to.emit(pm, "NodeSynced")
          .withArgs(n.address, p.startPeriod + 5n);
        const info = await pm.getNodeFees(n.address);
        expect(info.rate).to.equal(0n);
        expect(info.fees).to.equal(0n);
        expect(info.cursorCommitted).to.equal(false);
        await expect(escrow.commitToNextPeriod(n.address))
          .to.emit(escrow, "CommitmentMade")
          .withArgs(n.address, anyValue, anyValue, 0n); // nothing credited
      });

      it("rejects a target that is not after the cursor, a future one, and a node never seen", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, nodes } = ctx;
        const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
        await expect(pm.syncNode(nodes[0].address, p.startPeriod))
          .to.be.revertedWithCustomError(pm, "InvalidSyncTarget")
          .withArgs(nodes[0].address, p.startPeriod, p.startPeriod);
        await expect(pm.syncNode(nodes[0].address, p.startPeriod + 1n))
          .to.be.revertedWithCustomError(pm, "InvalidSyncTarget")
          .withArgs(nodes[0].address, p.startPeriod + 1n, p.startPeriod);
        await expect(pm.syncNode(nodes[1].address, p.startPeriod))
          .to.be.revertedWithCustomError(pm, "InvalidSyncTarget")
          .withArgs(nodes[1].address, p.startPeriod, 0n);
      });
    });
  });

  describe("withdrawFees", function () {
    it("sends the node its fees of begun periods and keeps the next period's credit", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, token, nodes } = ctx;
      const [n] = nodes;
      await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 10n });
      await escrow.commitToNextPeriod(n.address);
      await advance();
      await escrow.commitToNextPeriod(n.address);
      await expect(pm.connect(n).withdrawFees())
        .to.emit(pm, "FeesWithdrawn")
        .withArgs(n.address, RATE)
        .and.to.emit(token, "Transfer")
        .withArgs(await pm.getAddress(), n.address, RATE);
      expect((await pm.getNodeFees(n.address)).fees).to.equal(RATE);
      await expect(pm.connect(n).withdrawFees())
        .to.be.revertedWithCustomError(pm, "NothingToWithdraw")
        .withArgs(n.address);
      await advance();
      await expect(pm.connect(n).withdrawFees()).to.emit(pm, "FeesWithdrawn").withArgs(n.address, RATE);
      expect(await token.balanceOf(n.address)).to.equal(2n * RATE);
    });
  });

  describe("pendingRewards", function () {
    it("adds the escrow's pending mining reward to the withdrawable fees", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, nodes } = ctx;
      const [n] = nodes;
      await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 10n });
      await escrow.commitToNextPeriod(n.address);
      await advance();
      await escrow.setPendingReward(n.address, 12_345n);
      expect(await pm.pendingRewards(n.address)).to.equal(12_345n + RATE);
    });
  });

  describe("refund", function () {
    it("pays the owner each missed node-period once, and only new ones on a repeated call", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, token, alice, nodes } = ctx;
      const [a, b] = nodes;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 6n });
      // a commits to start+1 and start+2; b to start+2 only. Both missed start.
      await escrow.commitToNextPeriod(a.address);
      await advance();
      await escrow.commitToNextPeriod(a.address);
      await escrow.commitToNextPeriod(b.address);
      await advance(); // now start+2: settled periods are start..start+2
      // Missed: a {start}, b {start, start+1}.
      const before = await token.balanceOf(alice.address);
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 3n, 3n * RATE);
      expect(await token.balanceOf(alice.address)).to.equal(before + 3n * RATE);
      const after = { ...p, refundedThrough: p.startPeriod + 3n };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(after));
      // Nothing new in the same period: a repeated call reverts and moves nothing.
      await expectNoTokensMoved(ctx, async () => {
        await expect(pm.connect(alice).refund(pid(1), after))
          .to.be.revertedWithCustomError(pm, "NothingToRefund")
          .withArgs(pid(1));
      });
      // The stale record no longer matches.
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
        .withArgs(pid(1));
      // Next period both missed start+3: 2 × RATE more.
      await advance();
      await expect(pm.connect(alice).refund(pid(1), after))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 4n, 2n * RATE);
    });

    it("reverts when no period was missed yet", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, alice, nodes } = ctx;
      await escrow.commitToNextPeriod(nodes[0].address);
      await advance();
      const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.be.revertedWithCustomError(pm, "NothingToRefund")
        .withArgs(pid(1));
    });

    it("reverts for an unknown id, a forged record and a caller other than the owner", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, stranger, nodes } = ctx;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
      await advance();
      await expectNoTokensMoved(ctx, async () => {
        await expect(pm.connect(alice).refund(pid(2), p))
          .to.be.revertedWithCustomError(pm, "UnknownPolicy")
          .withArgs(pid(2));
        await expect(pm.connect(alice).refund(pid(1), { ...p, feeRate: p.feeRate * 2n }))
          .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
          .withArgs(pid(1));
        await expect(pm.connect(alice).refund(pid(1), { ...p, nodes: [nodes[1].address] }))
          .to.be.revertedWithCustomError(pm, "PolicyRecordMismatch")
          .withArgs(pid(1));
        await expect(pm.connect(stranger).refund(pid(1), p))
          .to.be.revertedWithCustomError(pm, "NotPolicyOwner")
          .withArgs(pid(1), stranger.address, alice.address);
      });
    });

    it("counts commitments across 256-period bitmap words", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, alice, nodes, lockEnd } = ctx;
      const [n] = nodes;
      await escrow.setLock(n.address, LOCKED, lockEnd + 1000n);
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 600n });
      // Commit to every 3rd period over 600 periods.
      let committed = 0n;
      for (let i = 0n; i < 599n; i++) {
        if ((p.startPeriod + i + 1n) % 3n === 0n) {
          await escrow.commitToNextPeriod(n.address);
          committed++;
        }
        await advance();
      }
      const [amount, through] = await pm.refundable(pid(1), p);
      expect(through).to.equal(p.endPeriod);
      expect(amount).to.equal((600n - committed) * RATE);
      await expect(pm.connect(alice).refund(pid(1), p))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.endPeriod, amount);
      expect(await pm.pendingFees(n.address)).to.equal(committed * RATE);
    });
  });

  describe("revokePolicy", function () {
    it("refunds every period after the current one and stops accrual", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, token, alice, nodes } = ctx;
      const [a, b] = nodes;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [a, b], periods: 10n });
      await escrow.commitToNextPeriod(a.address);
      await advance(2); // now start+2; the policy covers start..start+9
      const before = await token.balanceOf(alice.address);
      // Periods start+3 .. start+9: 7 periods × 2 nodes.
      await expect(pm.connect(alice).revokePolicy(pid(1), p))
        .to.emit(pm, "PolicyRevoked")
        .withArgs(pid(1), alice.address, p.startPeriod + 3n, 14n * RATE);
      expect(await token.balanceOf(alice.address)).to.equal(before + 14n * RATE);
      const revoked = { ...p, endPeriod: p.startPeriod + 3n };
      expect(await pm.policyCommitment(pid(1))).to.equal(hashPolicyRecord(revoked));
      expect(await pm.rateDropAt(a.address, p.endPeriod)).to.equal(0n);
      expect(await pm.rateDropAt(a.address, p.startPeriod + 3n)).to.equal(RATE);
      // b commits to start+3 (after the new end): nothing credited.
      await expect(escrow.commitToNextPeriod(b.address))
        .to.emit(escrow, "CommitmentMade")
        .withArgs(b.address, anyValue, anyValue, 0n); // nothing credited
      // The current period stays covered; the owner's refund of missed periods still works.
      await advance();
      await expect(pm.connect(alice).refund(pid(1), revoked))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 3n, 5n * RATE); // a missed start, start+2; b missed all three
    });

    it("takes back the credit of a next period the node already committed to", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, alice, nodes } = ctx;
      const [n] = nodes;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 10n });
      await createPolicy(ctx, { id: pid(2), nodes: [n], periods: 10n, rate: 3n * RATE });
      await escrow.commitToNextPeriod(n.address); // start+1, credited 4 × RATE, held
      expect(await pm.pendingFees(n.address)).to.equal(0n);
      await expect(pm.connect(n).withdrawFees()).to.be.revertedWithCustomError(pm, "NothingToWithdraw");
      await expect(pm.connect(alice).revokePolicy(pid(1), p))
        .to.emit(pm, "PolicyRevoked")
        .withArgs(pid(1), alice.address, p.startPeriod + 1n, 9n * RATE);
      const info = await pm.getNodeFees(n.address);
      expect(info.fees).to.equal(3n * RATE);
      expect(info.rate).to.equal(3n * RATE);
      await advance();
      expect(await pm.pendingFees(n.address)).to.equal(3n * RATE);
      // The owner still gets the current (start) period back: the node missed it.
      await expect(pm.connect(alice).refund(pid(1), { ...p, endPeriod: p.startPeriod + 1n }))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 1n, RATE);
    });

    it("takes back a next-period credit given at creation when revoked in the same period", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, escrow, token, alice, nodes } = ctx;
      const [n] = nodes;
      await escrow.commitToNextPeriod(n.address); // commits to start+1 before the policy exists
      const p = await createPolicy(ctx, { id: pid(1), nodes: [n], periods: 5n });
      expect((await pm.getNodeFees(n.address)).fees).to.equal(RATE); // start+1 credited at creation, held
      await expect(pm.connect(alice).revokePolicy(pid(1), p))
        .to.emit(pm, "PolicyRevoked")
        .withArgs(pid(1), alice.address, p.startPeriod + 1n, 4n * RATE);
      const info = await pm.getNodeFees(n.address);
      expect(info.fees).to.equal(0n);
      expect(info.rate).to.equal(0n);
      await advance(3);
      // The node was never paid for a revoked period; the owner gets the missed start period back.
      await expect(pm.connect(n).withdrawFees()).to.be.revertedWithCustomError(pm, "NothingToWithdraw");
      await expect(pm.connect(alice).refund(pid(1), { ...p, endPeriod: p.startPeriod + 1n }))
        .to.emit(pm, "PolicyRefunded")
        .withArgs(pid(1), p.startPeriod + 1n, RATE);
      expect(await token.balanceOf(await pm.getAddress())).to.equal(0n);
    });

    it("reverts for a stranger, a second revocation and an ended policy, moving no tokens", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, stranger, nodes } = ctx;
      const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 3n });
      const q = await createPolicy(ctx, { id: pid(2), nodes: [nodes[0]], periods: 2n });
      await expectNoTokensMoved(ctx, async () => {
        await expect(pm.connect(stranger).revokePolicy(pid(1), p))
          .to.be.revertedWithCustomError(pm, "NotPolicyOwner")
          .withArgs(pid(1), stranger.address, alice.address);
        await expect(pm.connect(alice).revokePolicy(pid(3), p))
          .to.be.revertedWithCustomError(pm, "UnknownPolicy")
          .withArgs(pid(3));
      });
      await pm.connect(alice).revokePolicy(pid(1), p);
      const revoked = { ...p, endPeriod: p.startPeriod + 1n };
      await advance();
      await expectNoTokensMoved(ctx, async () => {
        await expect(pm.connect(alice).revokePolicy(pid(1), revoked))
          .to.be.revertedWithCustomError(pm, "PolicyNotRevocable")
          .withArgs(pid(1), p.startPeriod + 1n, p.startPeriod + 1n);
        // q ends at start+2: in period start+1 no later period is left.
        await expect(pm.connect(alice).revokePolicy(pid(2), q))
          .to.be.revertedWithCustomError(pm, "PolicyNotRevocable")
          .withArgs(pid(2), q.endPeriod, q.startPeriod + 1n);
      });
    });

    describe("by signature", function () {
      it("lets a relayer revoke with the owner's signature, once", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, token, alice, relayer, nodes } = ctx;
        const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
        const deadline = BigInt(await time.latest()) + 3600n;
        const sig = await signRevocation(ctx, alice, pid(1), deadline);
        const before = await token.balanceOf(alice.address);
        await expect(pm.connect(relayer).revokePolicyWithSig(pid(1), p, deadline, sig))
          .to.emit(pm, "PolicyRevoked")
          .withArgs(pid(1), relayer.address, p.startPeriod + 1n, 4n * RATE);
        expect(await token.balanceOf(alice.address)).to.equal(before + 4n * RATE);
        expect(await pm.nonces(alice.address)).to.equal(1n);
        // Replaying the signature on another policy of the same owner fails: the nonce moved on.
        const q = await createPolicy(ctx, { id: pid(2), nodes: [nodes[0]], periods: 5n });
        const sigQ = await signRevoke(alice, (await ethers.provider.getNetwork()).chainId, await pm.getAddress(), {
          policyId: pid(2),
          nonce: 0n,
          deadline,
        });
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(relayer).revokePolicyWithSig(pid(2), q, deadline, sigQ))
            .to.be.revertedWithCustomError(pm, "InvalidRevokeSignature")
            .withArgs(pid(2), alice.address);
          await expect(
            pm.connect(relayer).revokePolicyWithSig(pid(1), { ...p, endPeriod: p.startPeriod + 1n }, deadline, sig),
          )
            .to.be.revertedWithCustomError(pm, "InvalidRevokeSignature")
            .withArgs(pid(1), alice.address);
        });
      });

      it("rejects a signature by anyone but the owner, for another policy, or past its deadline", async function () {
        const ctx = await loadFixture(deployPolicyFixture);
        const { pm, alice, stranger, relayer, nodes } = ctx;
        const p = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
        await createPolicy(ctx, { id: pid(2), nodes: [nodes[0]], periods: 5n });
        const deadline = BigInt(await time.latest()) + 3600n;
        const byStranger = await signRevocation(ctx, stranger, pid(1), deadline);
        const forOther = await signRevocation(ctx, alice, pid(2), deadline);
        await expectNoTokensMoved(ctx, async () => {
          await expect(pm.connect(relayer).revokePolicyWithSig(pid(1), p, deadline, byStranger))
            .to.be.revertedWithCustomError(pm, "InvalidRevokeSignature")
            .withArgs(pid(1), alice.address);
          await expect(pm.connect(relayer).revokePolicyWithSig(pid(1), p, deadline, forOther))
            .to.be.revertedWithCustomError(pm, "InvalidRevokeSignature")
            .withArgs(pid(1), alice.address);
          const valid = await signRevocation(ctx, alice, pid(1), deadline);
          await time.setNextBlockTimestamp(deadline + 1n);
          await expect(pm.connect(relayer).revokePolicyWithSig(pid(1), p, deadline, valid))
            .to.be.revertedWithCustomError(pm, "RevokeSignatureExpired")
            .withArgs(deadline, deadline + 1n);
        });
      });
    });
  });

  describe("fee settings", function () {
    it("lets a node or its operator set the node's minimum fee rate", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, nodes, operators, stranger } = ctx;
      await expect(pm.connect(nodes[0]).setMinFeeRate(nodes[0].address, 5n * UNIT))
        .to.emit(pm, "MinFeeRateSet")
        .withArgs(nodes[0].address, 5n * UNIT);
      await expect(pm.connect(operators[0]).setMinFeeRate(nodes[0].address, 7n * UNIT))
        .to.emit(pm, "MinFeeRateSet")
        .withArgs(nodes[0].address, 7n * UNIT);
      expect(await pm.minFeeRateOf(nodes[0].address)).to.equal(7n * UNIT);
      await expect(pm.connect(stranger).setMinFeeRate(nodes[0].address, 1n))
        .to.be.revertedWithCustomError(pm, "NotNodeOrOperator")
        .withArgs(nodes[0].address, stranger.address);
      await expect(pm.connect(operators[1]).setMinFeeRate(nodes[0].address, 1n))
        .to.be.revertedWithCustomError(pm, "NotNodeOrOperator")
        .withArgs(nodes[0].address, operators[1].address);
      await expect(pm.connect(nodes[0]).setMinFeeRate(nodes[0].address, 2n ** 48n * UNIT))
        .to.be.revertedWithCustomError(pm, "MinFeeRateTooLarge")
        .withArgs(2n ** 48n * UNIT);
      await pm.connect(nodes[0]).setMinFeeRate(nodes[0].address, (2n ** 48n - 1n) * UNIT);
      expect(await pm.minFeeRateOf(nodes[0].address)).to.equal((2n ** 48n - 1n) * UNIT);
      await expect(pm.connect(nodes[0]).setMinFeeRate(nodes[0].address, UNIT + 1n))
        .to.be.revertedWithCustomError(pm, "FeeRateNotMultipleOfUnit")
        .withArgs(UNIT + 1n, UNIT);
    });

    it("lets only the owner set the fee-rate range, within 96 bits and not inverted", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, deployer, stranger } = ctx;
      await expect(pm.connect(deployer).setFeeRateRange(10n, 20n)).to.emit(pm, "FeeRateRangeSet").withArgs(10n, 20n);
      expect(await pm.feeRateRange()).to.deep.equal([10n, 20n]);
      await expect(pm.connect(stranger).setFeeRateRange(1n, 2n))
        .to.be.revertedWithCustomError(pm, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(pm.setFeeRateRange(3n, 2n))
        .to.be.revertedWithCustomError(pm, "InvalidFeeRateRange")
        .withArgs(3n, 2n);
      await expect(pm.setFeeRateRange(0n, 2n ** 96n))
        .to.be.revertedWithCustomError(pm, "InvalidFeeRateRange")
        .withArgs(0n, 2n ** 96n);
    });

    it("transfers ownership in two steps", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, deployer, bob } = ctx;
      await pm.connect(deployer).transferOwnership(bob.address);
      expect(await pm.owner()).to.equal(deployer.address);
      await pm.connect(bob).acceptOwnership();
      expect(await pm.owner()).to.equal(bob.address);
    });
  });
});
