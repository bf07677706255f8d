// NodeDirectory: only a staker's current operator announces; records and events; bad URLs and keys.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { advancePeriods, deployEscrowFixture, kms, MIN_LOCK, MIN_OPERATOR_PERIODS } from "../staking/helpers";

const KEY = "0x02" + "11".repeat(32);

async function deployDirectoryFixture() {
  const base = await deployEscrowFixture();
  const { escrow, alice, aliceOp } = base;
  await escrow.connect(alice).depositAndLock(kms(20_000), MIN_LOCK);
  await escrow.connect(alice).bondOperator(aliceOp.address);
  await escrow.connect(aliceOp).confirmOperator(alice.address);
  const directory = await ethers.deployContract("NodeDirectory", [await escrow.getAddress()]);
  return { ...base, directory };
}

describe("NodeDirectory", function () {
  describe("announce", function () {
    it("records the operator's URL and key under its staker and emits NodeAnnounced", async function () {
      const { directory, alice, aliceOp } = await loadFixture(deployDirectoryFixture);
      await expect(directory.connect(aliceOp).announce("http://127.0.0.1:9151", KEY))
        .to.emit(directory, "NodeAnnounced")
        .withArgs(alice.address, aliceOp.address, "http://127.0.0.1:9151", KEY);
      const record = await directory.nodeOf(alice.address);
      expect(record.operator).to.equal(aliceOp.address);
      expect(record.url).to.equal("http://127.0.0.1:9151");
      expect(record.encryptingKey).to.equal(KEY);
      expect(record.announcedAt).to.be.greaterThan(0n);
    });

    it("replaces an earlier announcement", async function () {
      const { directory, alice, aliceOp } = await loadFixture(deployDirectoryFixture);
      await directory.connect(aliceOp).announce("http://a", KEY);
      await directory.connect(aliceOp).announce("http://b", "0x03" + "22".repeat(32));
      const record = await directory.nodeOf(alice.address);
      expect(record.url).to.equal("http://b");
      expect(record.encryptingKey).to.equal("0x03" + "22".repeat(32));
    });

    it("returns an empty record for a node that never announced", async function () {
      const { directory, bob } = await loadFixture(deployDirectoryFixture);
      const record = await directory.nodeOf(bob.address);
      expect(record.operator).to.equal(ethers.ZeroAddress);
      expect(record.url).to.equal("");
    });

    describe("reverts", function () {
      it("for a caller that is no operator, the staker itself included", async function () {
        const { directory, alice, stranger } = await loadFixture(deployDirectoryFixture);
        for (const caller of [stranger, alice]) {
          await expect(directory.connect(caller).announce("http://x", KEY))
            .to.be.revertedWithCustomError(directory, "NodeDirectoryNotAnOperator")
            .withArgs(caller.address);
        }
      });

      it("for a former operator after the staker re-bonded", async function () {
        const { directory, escrow, alice, aliceOp, stranger } = await loadFixture(deployDirectoryFixture);
        await advancePeriods(escrow, MIN_OPERATOR_PERIODS);
        await escrow.connect(alice).bondOperator(stranger.address);
        await expect(directory.connect(aliceOp).announce("http://x", KEY))
          .to.be.revertedWithCustomError(directory, "NodeDirectoryNotAnOperator")
          .withArgs(aliceOp.address);
        // The proposed key speaks for the node only once it confirmed the bond.
        await expect(directory.connect(stranger).announce("http://new", KEY))
          .to.be.revertedWithCustomError(directory, "NodeDirectoryNotAnOperator")
          .withArgs(stranger.address);
        await escrow.connect(stranger).confirmOperator(alice.address);
        await expect(directory.connect(stranger).announce("http://new", KEY)).to.emit(directory, "NodeAnnounced");
      });

      it("for an empty or over-long URL", async function () {
        const { directory, aliceOp } = await loadFixture(deployDirectoryFixture);
        await expect(directory.connect(aliceOp).announce("", KEY))
          .to.be.revertedWithCustomError(directory, "NodeDirectoryBadUrl")
          .withArgs(0n, 256n);
        await expect(directory.connect(aliceOp).announce("h".repeat(257), KEY))
          .to.be.revertedWithCustomError(directory, "NodeDirectoryBadUrl")
          .withArgs(257n, 256n);
      });

      it("for a key that is not a 33-byte compressed point", async function () {
        const { directory, aliceOp } = await loadFixture(deployDirectoryFixture);
        for (const key of ["0x04" + "11".repeat(32), "0x02" + "11".repeat(31), "0x02" + "11".repeat(33), "0x"]) {
          await expect(directory.connect(aliceOp).announce("http://x", key))
            .to.be.revertedWithCustomError(directory, "NodeDirectoryBadKey")
            .withArgs((key.length - 2) / 2);
        }
      });
    });
  });
});
