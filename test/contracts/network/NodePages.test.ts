// The paged node view: StakingEscrow.samplingStates (one call for many stakers) and NodeDirectory.nodesPage built
// on it: bounds, stakers that are not (or no longer) active, a re-bonded node, a page of MAX_PAGE nodes checked
// node by node against the single-staker views, answers that do not depend on the gas a call is given, and a
// failing escrow.
import { expect } from "chai";
import hre, { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { getBytes, hexlify, randomBytes, toBeHex } from "ethers";
import { decodePage } from "../../../src/staking";
import { LOCKS, MIN_LOCK, MIN_OPERATOR_PERIODS, advancePeriods, kms, stakedFixture } from "../staking/helpers";

const KEY = "0x02" + "11".repeat(32);

/** Splits a samplingStates answer into its 40-byte records. */
function states(answer: string) {
  const bytes = getBytes(answer);
  expect(bytes.length % 40).to.equal(0);
  const out = [];
  for (let at = 0; at < bytes.length; at += 40) {
    out.push({
      operator: ethers.getAddress(hexlify(bytes.subarray(at, at + 20))),
      lockedValue: BigInt(hexlify(bytes.subarray(at + 20, at + 32))),
      unlockPeriod: BigInt(hexlify(bytes.subarray(at + 32, at + 36))),
      lastCommittedPeriod: BigInt(hexlify(bytes.subarray(at + 36, at + 40))),
    });
  }
  return out;
}

/** What a page entry must say about `staker`, from the one-staker views. */
async function expected(
  escrow: Awaited<ReturnType<typeof stakedFixture>>["escrow"],
  directory: { nodeOf(staker: string): Promise<{ operator: string }> },
  staker: string,
) {
  const info = await escrow.getStakerInfo(staker);
  const operator = info.operatorConfirmed ? info.operator : ethers.ZeroAddress;
  const record = await directory.nodeOf(staker);
  return {
    staker,
    operator,
    announcedOperator: operator !== ethers.ZeroAddress && record.operator === operator ? operator : ethers.ZeroAddress,
    lockedValue: info.lockedValue,
    unlockPeriod: info.unlockPeriod,
    lastCommittedPeriod: info.lastCommittedPeriod,
  };
}

async function directoryFixture() {
  const fx = await stakedFixture();
  const directory = await ethers.deployContract("NodeDirectory", [await fx.escrow.getAddress()]);
  for (const op of fx.operators) await directory.connect(op).announce("http://127.0.0.1:9151", KEY);
  return { ...fx, directory };
}

describe("paged node view", function () {
  describe("StakingEscrow.samplingStates", function () {
    it("answers 40 bytes per staker in the order given, the same as getStakerInfo", async function () {
      const { escrow, alice, bob, carol, aliceOp } = await loadFixture(stakedFixture);
      await escrow.connect(aliceOp).commitToNextPeriod();
      const order = [carol.address, alice.address, bob.address, alice.address];
      const answer = states(await escrow.samplingStates(order));
      expect(answer).to.have.length(4);
      for (const [i, staker] of order.entries()) {
        const info = await escrow.getStakerInfo(staker);
        expect(answer[i]).to.deep.equal({
          operator: info.operator,
          lockedValue: info.lockedValue,
          unlockPeriod: info.unlockPeriod,
          lastCommittedPeriod: info.lastCommittedPeriod,
        });
      }
      expect(answer[1].lastCommittedPeriod).to.equal((await escrow.getCurrentPeriod()) + 1n);
      expect(await escrow.samplingStates([])).to.equal("0x");
    });

    it("reads a proposed, unconfirmed operator and an account that never staked as zeros", async function () {
      const { escrow, token, stranger, reporter } = await loadFixture(stakedFixture);
      await token.transfer(stranger.address, kms(5_000));
      await token.connect(stranger).approve(await escrow.getAddress(), ethers.MaxUint256);
      await escrow.connect(stranger).depositAndLock(kms(5_000), MIN_LOCK);
      await escrow.connect(stranger).bondOperator(reporter.address);
      const [proposed, nobody] = states(await escrow.samplingStates([stranger.address, reporter.address]));
      expect(proposed.operator).to.equal(ethers.ZeroAddress);
      expect(proposed.lockedValue).to.equal(kms(5_000));
      expect(nobody).to.deep.equal({
        operator: ethers.ZeroAddress,
        lockedValue: 0n,
        unlockPeriod: 0n,
        lastCommittedPeriod: 0n,
      });
    });
  });

  describe("NodeDirectory.nodesPage", function () {
    it("pages within bounds: past the end is empty, a page at the end is cut short, count 0 is empty", async function () {
      const { directory, escrow, alice, bob, carol } = await loadFixture(directoryFixture);
      expect(await directory.nodeCount()).to.equal(3n);
      const all = decodePage(getBytes(await directory.nodesPage(0n, 1000n)));
      expect(all.map((n) => n.staker)).to.deep.equal([alice.address, bob.address, carol.address]);
      for (const node of all) expect(node).to.deep.equal(await expected(escrow, directory, node.staker));
      expect(decodePage(getBytes(await directory.nodesPage(1n, 1n)))).to.deep.equal([all[1]]);
      expect(decodePage(getBytes(await directory.nodesPage(2n, 5n)))).to.deep.equal([all[2]]);
      expect(await directory.nodesPage(3n, 1n)).to.equal("0x");
      expect(await directory.nodesPage(ethers.MaxUint256, 1000n)).to.equal("0x");
      expect(await directory.nodesPage(0n, 0n)).to.equal("0x");
      await expect(directory.nodesPage(0n, 1001n))
        .to.be.revertedWithCustomError(directory, "NodeDirectoryPageTooLarge")
        .withArgs(1001n, 1000n);
    });

    it("shows stakers whose lock ended or who unbonded with their state, and no announcer", async function () {
      const { directory, escrow, alice, bob, carol } = await loadFixture(directoryFixture);
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      await escrow.connect(bob).bondOperator(ethers.ZeroAddress); // bob's node goes away
      await advancePeriods(escrow, 20n); // every lock (20 periods) has ended
      const page = decodePage(getBytes(await directory.nodesPage(0n, 10n)));
      for (const node of page) expect(node).to.deep.equal(await expected(escrow, directory, node.staker));
      const [a, b] = page;
      expect(a.staker).to.equal(alice.address);
      expect(a.lockedValue).to.equal(LOCKS[0]);
      expect(a.unlockPeriod).to.be.at.most(await escrow.getCurrentPeriod());
      expect(b.operator).to.equal(ethers.ZeroAddress);
      expect(b.announcedOperator).to.equal(ethers.ZeroAddress);
      expect(page[2].staker).to.equal(carol.address);
    });

    it("a re-bonded node has no announcer until its new operator announces, which reuses its entry", async function () {
      const { directory, escrow, alice, aliceOp, stranger } = await loadFixture(directoryFixture);
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      await escrow.connect(alice).bondOperator(stranger.address);
      let [node] = decodePage(getBytes(await directory.nodesPage(0n, 1n)));
      expect(node.operator).to.equal(ethers.ZeroAddress); // proposed, not confirmed
      await escrow.connect(stranger).confirmOperator(alice.address);
      [node] = decodePage(getBytes(await directory.nodesPage(0n, 1n)));
      expect(node.operator).to.equal(stranger.address);
      expect(node.announcedOperator).to.equal(ethers.ZeroAddress); // the announcement is aliceOp's
      await directory.connect(stranger).announce("http://127.0.0.1:9160", KEY);
      [node] = decodePage(getBytes(await directory.nodesPage(0n, 1n)));
      expect(node.announcedOperator).to.equal(stranger.address);
      expect(await directory.nodeCount()).to.equal(3n);
      // The same operator announcing again changes nothing in the list.
      await directory.connect(stranger).announce("http://127.0.0.1:9161", KEY);
      expect(decodePage(getBytes(await directory.nodesPage(0n, 1n)))).to.deep.equal([node]);
      expect((await directory.nodeOf(alice.address)).url).to.equal("http://127.0.0.1:9161");
      expect((await directory.nodeOf(alice.address)).operator).to.not.equal(aliceOp.address);
    });

    it("says so when the escrow's view fails or answers short", async function () {
      const { directory, escrow, token } = await loadFixture(directoryFixture);
      const escrowAddress = await escrow.getAddress();
      // An escrow without samplingStates: the token's code answers it with a revert.
      await network.provider.send("hardhat_setCode", [escrowAddress, await ethers.provider.getCode(token)]);
      await expect(directory.nodesPage(0n, 3n)).to.be.revertedWithCustomError(directory, "NodeDirectoryEscrowFailed");
      // PUSH1 0x40 PUSH1 0 RETURN: an empty `bytes` for any call, shorter than three states.
      await network.provider.send("hardhat_setCode", [escrowAddress, "0x60406000f3"]);
      await expect(directory.nodesPage(0n, 3n)).to.be.revertedWithCustomError(directory, "NodeDirectoryEscrowFailed");
    });
  });

  describe("a page of MAX_PAGE nodes", function () {
    const COUNT = 1000;

    // Not under solidity-coverage: its instrumented chain keeps every step of the ~5,000 set-up transactions in
    // memory (the run died at Node's 4 GiB heap limit here), and its gas figures, which this test checks, are not
    // the contract's. Every line nodesPage has is reached by the smaller pages above.
    before(function () {
      if ((hre as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
    });

    /** 1,000 self-bonded stakers (impersonated), mined in a few blocks; every 3rd commits, every 7th unbonds. */
    async function thousandFixture() {
      const fx = await stakedFixture();
      const { token, escrow } = fx;
      const directory = await ethers.deployContract("NodeDirectory", [await escrow.getAddress()]);
      const [owner] = await ethers.getSigners();
      const accounts = Array.from({ length: COUNT }, () => ethers.getAddress(hexlify(randomBytes(20))));
      for (const a of accounts) {
        await network.provider.send("hardhat_impersonateAccount", [a]);
        await network.provider.send("hardhat_setBalance", [a, toBeHex(10n ** 20n)]);
      }
      const escrowAddress = await escrow.getAddress();
      const directoryAddress = await directory.getAddress();
      const tokenAddress = await token.getAddress();
      const send = (from: string, to: string, data: string, nonce: number) =>
        network.provider.send("eth_sendTransaction", [
          { from, to, data, gas: toBeHex(400_000), nonce: toBeHex(nonce) },
        ]) as Promise<string>;
      const ownerNonce = await owner.getNonce();
      const stake = kms(1_000);
      const gasLimit = (await ethers.provider.getBlock("latest"))!.gasLimit;
      await network.provider.send("evm_setBlockGasLimit", [toBeHex(2_000_000_000n)]);
      await network.provider.send("evm_setAutomine", [false]);
      try {
        // Sent all at once (explicit nonces keep each sender's order), mined in a few big blocks.
        await Promise.all(
          accounts.map((a, i) =>
            send(
              owner.address,
              tokenAddress,
              token.interface.encodeFunctionData("transfer", [a, stake]),
              ownerNonce + i,
            ),
          ),
        );
        await network.provider.send("evm_mine");
        await Promise.all(
          accounts.flatMap((a, i) => {
            const txs = [
              [tokenAddress, token.interface.encodeFunctionData("approve", [escrowAddress, stake])],
              [escrowAddress, escrow.interface.encodeFunctionData("depositAndLock", [stake, 20n])],
              [escrowAddress, escrow.interface.encodeFunctionData("bondOperator", [a])],
              [directoryAddress, directory.interface.encodeFunctionData("announce", [`http://10.0.0.1:${i}`, KEY])],
            ];
            if (i % 3 === 0) txs.push([escrowAddress, escrow.interface.encodeFunctionData("commitToNextPeriod")]);
            return txs.map(([to, data], nonce) => send(a, to, data, nonce));
          }),
        );
        for (let blocks = 0; blocks < 4; blocks++) await network.provider.send("evm_mine");
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
        // Not part of a snapshot: leave the chain's block gas limit as the other tests know it.
        await network.provider.send("evm_setBlockGasLimit", [toBeHex(gasLimit)]);
      }
      // An announcement needs the transfer, the lock and the bond before it: all of them went through.
      expect(await directory.nodeCount()).to.equal(BigInt(COUNT));
      // Every 7th node unbonds (after the re-bond delay): it stays listed, with no operator.
      await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
      for (let i = 0; i < COUNT; i += 7) {
        await escrow.connect(await ethers.getSigner(accounts[i])).bondOperator(ethers.ZeroAddress);
      }
      return { ...fx, directory, accounts };
    }

    it("matches the one-staker views node by node, fits the eth_call gas caps, whatever gas it is given", async function () {
      this.timeout(900_000);
      const { directory, escrow, accounts } = await loadFixture(thousandFixture);
      const page = decodePage(getBytes(await directory.nodesPage(0n, BigInt(COUNT))));
      // In the order the announcements were mined (sent all at once, so not necessarily the accounts' order).
      expect(page.map((n) => n.staker).sort()).to.deep.equal([...accounts].sort());
      for (const node of page) expect(node).to.deep.equal(await expected(escrow, directory, node.staker));
      expect(page.filter((n) => n.operator === ethers.ZeroAddress)).to.have.length(Math.ceil(COUNT / 7));
      expect(page.filter((n) => n.lastCommittedPeriod !== 0n)).to.have.length(Math.ceil(COUNT / 3));
      expect(await directory.nodesPage(BigInt(COUNT), 1000n)).to.equal("0x");
      // Under the 2^24 gas cap per transaction (EIP-7825), which Hardhat applies to eth_call too: so under any
      // endpoint's eth_call cap (50M by default in geth and erigon).
      const gas = await directory.nodesPage.estimateGas(0n, BigInt(COUNT));
      expect(gas).to.be.below(10_000_000n);
      const full = await directory.nodesPage(0n, BigInt(COUNT), { gasLimit: 16_000_000n });
      expect(await directory.nodesPage(0n, BigInt(COUNT), { gasLimit: gas })).to.equal(full);
      // Too little gas is an error, never a shorter page.
      await expect(directory.nodesPage(0n, BigInt(COUNT), { gasLimit: gas / 2n })).to.be.rejected;
    });
  });
});
