// PolicyManager wired to the real StakingEscrow: operators' commitments credit fees through the hook, the
// escrow's locks and bonds gate policy creation, and a node's income view adds mining reward and fees.
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { hashPolicyRecord, sortNodes, type PolicyRecord } from "../../../src/policy";

const DAY = 86_400n;
const STAKE = 20_000n * 10n ** 18n;
const RATE = 10n ** 15n;

async function deployWithEscrowFixture() {
  const signers = await ethers.getSigners();
  const [deployer, alice] = signers;
  const token = await ethers.deployContract("KMSToken", [deployer.address, 10n ** 27n]);
  const escrow = await ethers.deployContract("StakingEscrow", [
    token,
    DAY,
    15_000n * 10n ** 18n,
    10n ** 25n,
    10n,
    2n,
    949_066_037_374_331n,
    deployer.address,
  ]);
  await token.approve(escrow, 10n ** 26n);
  await escrow.fundReserve(10n ** 26n);
  const pm = await ethers.deployContract("PolicyManager", [escrow, deployer.address, 10n ** 9n, 10n ** 21n]);
  await escrow.setPolicyManager(pm);
  const now = BigInt(await time.latest());
  await time.increaseTo((now / DAY + 1n) * DAY + 10n);
  const stakers = sortNodesBy(signers.slice(2, 5));
  const operators = signers.slice(5, 8);
  for (let i = 0; i < stakers.length; i++) {
    await token.transfer(stakers[i].address, STAKE);
    await token.connect(stakers[i]).approve(escrow, STAKE);
    await escrow.connect(stakers[i]).depositAndLock(STAKE, 30n);
    await escrow.connect(stakers[i]).bondOperator(operators[i].address);
    await escrow.connect(operators[i]).confirmOperator(stakers[i].address);
  }
  await token.transfer(alice.address, 10n ** 22n);
  await token.connect(alice).approve(pm, ethers.MaxUint256);
  return { token, escrow, pm, deployer, alice, stakers, operators };
}

function sortNodesBy(signers: HardhatEthersSigner[]): HardhatEthersSigner[] {
  const order = sortNodes(signers.map((s) => s.address));
  return order.map((a) => signers.find((s) => s.address === a)!);
}

async function nextPeriod() {
  await time.increase(DAY);
}

describe("PolicyManager with StakingEscrow", function () {
  it("is the escrow's commit hook: operators' commitments credit their stakers' fees", async function () {
    const { token, escrow, pm, alice, stakers, operators } = await loadFixture(deployWithEscrowFixture);
    const start = await pm.getCurrentPeriod();
    expect(await escrow.getCurrentPeriod()).to.equal(start);
    const nodes = stakers.slice(0, 2).map((s) => s.address);
    await pm.connect(alice).createPolicy(ethers.zeroPadValue("0x01", 16), alice.address, nodes, start + 3n, RATE);
    await expect(escrow.connect(operators[0]).commitToNextPeriod())
      .to.emit(escrow, "CommitmentMade")
      .withArgs(stakers[0].address, start + 1n, anyValue, RATE);
    await nextPeriod();
    await escrow.connect(operators[0]).commitToNextPeriod();
    await nextPeriod();
    // stakers[0] committed to start+1 and start+2, both begun: 2 × RATE withdrawable.
    expect(await pm.pendingFees(stakers[0].address)).to.equal(2n * RATE);
    await expect(pm.connect(stakers[0]).withdrawFees())
      .to.emit(pm, "FeesWithdrawn")
      .withArgs(stakers[0].address, 2n * RATE);
    // The owner gets back start for both nodes and start+1, start+2 for the node that never committed.
    const record: PolicyRecord = {
      owner: alice.address,
      startPeriod: start,
      endPeriod: start + 3n,
      refundedThrough: start,
      feeRate: RATE,
      nodes,
    };
    await expect(pm.connect(alice).refund(ethers.zeroPadValue("0x01", 16), record))
      .to.emit(pm, "PolicyRefunded")
      .withArgs(ethers.zeroPadValue("0x01", 16), start + 3n, 4n * RATE);
    expect(await pm.policyCommitment(ethers.zeroPadValue("0x01", 16))).to.equal(
      hashPolicyRecord({ ...record, refundedThrough: start + 3n }),
    );
    // 6 node-periods paid for: 2 withdrawn by the node, 4 refunded: nothing is left.
    expect(await token.balanceOf(await pm.getAddress())).to.equal(0n);
  });

  it("requires the escrow's lock to cover the policy plus the accountability window, and a bonded operator", async function () {
    const { escrow, pm, alice, stakers } = await loadFixture(deployWithEscrowFixture);
    const start = await pm.getCurrentPeriod();
    const [, unlockPeriod] = await escrow.getLock(stakers[0].address);
    const [lockedValue] = await escrow.getLock(stakers[0].address);
    await expect(
      pm
        .connect(alice)
        .createPolicy(ethers.zeroPadValue("0x02", 16), alice.address, [stakers[0].address], unlockPeriod + 1n, RATE),
    )
      .to.be.revertedWithCustomError(pm, "NodeNotLocked")
      .withArgs(stakers[0].address, lockedValue, unlockPeriod, unlockPeriod + 1n + (await escrow.minOperatorPeriods()));
    await expect(
      pm.connect(alice).createPolicy(ethers.zeroPadValue("0x02", 16), alice.address, [alice.address], start + 2n, RATE),
    )
      .to.be.revertedWithCustomError(pm, "NodeNotBonded")
      .withArgs(alice.address);
    await expect(
      pm
        .connect(alice)
        .createPolicy(
          ethers.zeroPadValue("0x02", 16),
          alice.address,
          [stakers[0].address],
          unlockPeriod - (await escrow.minOperatorPeriods()),
          RATE,
        ),
    ).to.emit(pm, "PolicyCreated");
  });

  it("reports mining reward plus fees as a node's pending income", async function () {
    const { escrow, pm, alice, stakers, operators } = await loadFixture(deployWithEscrowFixture);
    const start = await pm.getCurrentPeriod();
    await pm
      .connect(alice)
      .createPolicy(ethers.zeroPadValue("0x03", 16), alice.address, [stakers[0].address], start + 5n, RATE);
    await escrow.connect(operators[0]).commitToNextPeriod();
    await nextPeriod();
    await escrow.connect(operators[0]).commitToNextPeriod();
    await nextPeriod();
    const mining = await escrow.pendingReward(stakers[0].address);
    expect(mining).to.be.greaterThan(0n);
    expect(await pm.pendingFees(stakers[0].address)).to.equal(2n * RATE);
    expect(await pm.pendingRewards(stakers[0].address)).to.equal(mining + 2n * RATE);
  });

  it("lets an operator set its staker's minimum fee rate", async function () {
    const { pm, stakers, operators } = await loadFixture(deployWithEscrowFixture);
    await expect(pm.connect(operators[1]).setMinFeeRate(stakers[1].address, 5n * 10n ** 9n))
      .to.emit(pm, "MinFeeRateSet")
      .withArgs(stakers[1].address, 5n * 10n ** 9n);
    await expect(pm.connect(operators[0]).setMinFeeRate(stakers[1].address, 1n))
      .to.be.revertedWithCustomError(pm, "NotNodeOrOperator")
      .withArgs(stakers[1].address, operators[0].address);
  });
});

// The node slot's decrease-free stretch (`dropFree`): a commitment inside it reads no `_rateDrops` slot. Whatever
// order policies are created, revoked or the node synced in, every commitment must credit exactly the rates of the
// policies covering the committed period.
describe("PolicyManager with StakingEscrow: scheduled decreases and the decrease-free stretch", function () {
  type Live = { id: string; record: PolicyRecord };

  /** The sum of the fee rates of `live` policies covering `period` for `node`. */
  function expectedRate(live: Live[], node: string, period: bigint): bigint {
    return live
      .filter((p) => p.record.nodes.includes(node) && p.record.startPeriod <= period && period < p.record.endPeriod)
      .reduce((sum, p) => sum + p.record.feeRate, 0n);
  }

  async function create(
    pm: Awaited<ReturnType<typeof deployWithEscrowFixture>>["pm"],
    alice: HardhatEthersSigner,
    n: number,
    nodes: string[],
    end: bigint,
    rate: bigint,
  ): Promise<Live> {
    const id = ethers.zeroPadValue(ethers.toBeHex(n), 16);
    const start = await pm.getCurrentPeriod();
    await pm.connect(alice).createPolicy(id, alice.address, nodes, end, rate);
    return {
      id,
      record: {
        owner: alice.address,
        startPeriod: start,
        endPeriod: end,
        refundedThrough: start,
        feeRate: rate,
        nodes,
      },
    };
  }

  async function commitAndCheck(
    ctx: Awaited<ReturnType<typeof deployWithEscrowFixture>>,
    live: Live[],
    i: number,
  ): Promise<void> {
    const { escrow, pm, stakers, operators } = ctx;
    const next = (await pm.getCurrentPeriod()) + 1n;
    const rate = expectedRate(live, stakers[i].address, next);
    const before = (await pm.getNodeFees(stakers[i].address)).fees;
    const tx = escrow.connect(operators[i]).commitToNextPeriod();
    // The credit (0 when nothing is due) is in the escrow's CommitmentMade: the hook emits no event of its own.
    await expect(tx).to.emit(escrow, "CommitmentMade").withArgs(stakers[i].address, next, anyValue, rate);
    expect((await pm.getNodeFees(stakers[i].address)).fees - before).to.equal(rate);
  }

  it("credits exactly the covering rates when policies with earlier ends arrive after later ones", async function () {
    const ctx = await loadFixture(deployWithEscrowFixture);
    const { pm, alice, stakers } = ctx;
    const node = stakers[0].address;
    const start = await pm.getCurrentPeriod();
    const live = [await create(pm, alice, 1, [node], start + 12n, RATE)];
    await commitAndCheck(ctx, live, 0);
    await nextPeriod();
    // Ends before the first one: the stretch must shrink to it.
    live.push(await create(pm, alice, 2, [node], start + 4n, 2n * RATE));
    for (let k = 0; k < 3; k++) {
      await commitAndCheck(ctx, live, 0);
      await nextPeriod();
    }
    // A node away for a few periods: its next commitment walks the decreases it skipped.
    await nextPeriod();
    await nextPeriod();
    live.push(await create(pm, alice, 3, [node], (await pm.getCurrentPeriod()) + 2n, 4n * RATE));
    for (let k = 0; k < 8; k++) {
      await commitAndCheck(ctx, live, 0);
      await nextPeriod();
    }
    // Every policy ended: nothing pending, the rate is back to zero.
    expect((await pm.getNodeFees(node)).rate).to.equal(0n);
  });

  it("applies a revocation's decrease moved to the next period, and after a sync", async function () {
    const ctx = await loadFixture(deployWithEscrowFixture);
    const { pm, alice, stakers } = ctx;
    const node = stakers[0].address;
    const start = await pm.getCurrentPeriod();
    const long = await create(pm, alice, 1, [node], start + 20n, RATE);
    const short = await create(pm, alice, 2, [node], start + 15n, 3n * RATE);
    const live = [long, short];
    await commitAndCheck(ctx, live, 0);
    await nextPeriod();
    await nextPeriod();
    // Not committed ahead: the revocation moves `short`'s decrease to the next period, inside the stretch.
    await pm.connect(alice).revokePolicy(short.id, short.record);
    short.record = { ...short.record, endPeriod: (await pm.getCurrentPeriod()) + 1n };
    await commitAndCheck(ctx, live, 0);
    await nextPeriod();
    await commitAndCheck(ctx, live, 0);
    // Away, then synced by anyone: the stretch restarts from the new cursor.
    await nextPeriod();
    await nextPeriod();
    await nextPeriod();
    await pm.syncNode(node, await pm.getCurrentPeriod());
    for (let k = 0; k < 3; k++) {
      await commitAndCheck(ctx, live, 0);
      await nextPeriod();
    }
  });
});
