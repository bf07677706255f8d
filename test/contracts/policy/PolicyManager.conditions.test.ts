// PolicyManager's access-conditions commitment: created with a policy or set later by its owner (directly or
// with the owner's EIP-712 PolicyConditions signature, the one nodes check), versions strictly increasing,
// every refusal a custom error, and what it costs next to a policy without conditions.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroHash } from "ethers";
import { RATE, createPolicy, deployPolicyFixture, pid, type PolicyContext } from "./fixture";
import { conditionsHash, signConditions } from "../../../src/conditions";
import { conditionsOf, setConditions, setConditionsWithSig, StaleConditionsError } from "../../../src/policy";
import { CHAIN, set, timeAfter } from "../../conditions/fixtures";

const HASH_A = conditionsHash(set(timeAfter(1_800_000_000)));
const HASH_B = conditionsHash(set(timeAfter(1_900_000_000)));

async function domainOf(ctx: PolicyContext) {
  const { chainId } = await ethers.provider.getNetwork();
  expect(chainId).to.equal(BigInt(CHAIN));
  return { chainId, policyManager: await ctx.pm.getAddress() };
}

describe("PolicyManager: access conditions", function () {
  describe("createPolicyWithConditions", function () {
    it("creates the policy, takes the same deposit and commits to version 1 of the hash", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, token, nodes } = ctx;
      const start = await pm.getCurrentPeriod();
      const list = [nodes[0].address, nodes[1].address];
      const before = await token.balanceOf(alice.address);
      await expect(pm.connect(alice).createPolicyWithConditions(pid(1), alice.address, list, start + 5n, RATE, HASH_A))
        .to.emit(pm, "PolicyCreated")
        .and.to.emit(pm, "ConditionsSet")
        .withArgs(pid(1), 1n, HASH_A);
      expect(before - (await token.balanceOf(alice.address))).to.equal(RATE * 5n * 2n);
      expect(await conditionsOf(pm, pid(1))).to.deep.equal({ version: 1, hash: HASH_A });
    });

    it("refuses the zero hash, and a plain createPolicy commits to no conditions", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const start = await pm.getCurrentPeriod();
      await expect(
        pm
          .connect(alice)
          .createPolicyWithConditions(pid(1), alice.address, [nodes[0].address], start + 5n, RATE, ZeroHash),
      )
        .to.be.revertedWithCustomError(pm, "NoConditionsGiven")
        .withArgs(pid(1));
      await createPolicy(ctx, { id: pid(2), nodes: [nodes[0]], periods: 5n });
      expect(await pm.conditionsOf(pid(2))).to.deep.equal([0n, ZeroHash]);
      expect(await pm.conditionsOf(pid(99))).to.deep.equal([0n, ZeroHash]);
    });

    it("costs a policy without conditions nothing, and one with conditions two slots and an event", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const start = await pm.getCurrentPeriod();
      const plain = await (
        await pm.connect(alice).createPolicy(pid(1), alice.address, [nodes[0].address], start + 30n, RATE)
      ).wait();
      const gated = await (
        await pm
          .connect(alice)
          .createPolicyWithConditions(pid(2), alice.address, [nodes[0].address], start + 30n, RATE, HASH_A)
      ).wait();
      const extra = gated!.gasUsed - plain!.gasUsed;
      // Two fresh slots (2 × 22.1k) and the ConditionsSet log; the second policy also finds warm node slots.
      expect(extra).to.be.below(50_000n);
    });
  });

  describe("setConditions", function () {
    it("lets the owner raise the version, lift the conditions with the zero hash, and says so in events", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
      await expect(pm.connect(alice).setConditions(pid(1), record, 1, HASH_A))
        .to.emit(pm, "ConditionsSet")
        .withArgs(pid(1), 1n, HASH_A);
      await expect(pm.connect(alice).setConditions(pid(1), record, 7, HASH_B))
        .to.emit(pm, "ConditionsSet")
        .withArgs(pid(1), 7n, HASH_B);
      expect(await conditionsOf(pm, pid(1))).to.deep.equal({ version: 7, hash: HASH_B });
      await pm.connect(alice).setConditions(pid(1), record, 8, ZeroHash);
      expect(await conditionsOf(pm, pid(1))).to.deep.equal({ version: 8, hash: ZeroHash });
    });

    it("refuses a version not above the held one, another caller, a wrong record and an unknown policy", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, stranger, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
      await pm.connect(alice).setConditions(pid(1), record, 2, HASH_A);
      for (const version of [2, 1, 0]) {
        await expect(pm.connect(alice).setConditions(pid(1), record, version, HASH_B))
          .to.be.revertedWithCustomError(pm, "StaleConditionsVersion")
          .withArgs(pid(1), version, 2);
      }
      await expect(pm.connect(stranger).setConditions(pid(1), record, 3, HASH_B))
        .to.be.revertedWithCustomError(pm, "NotPolicyOwner")
        .withArgs(pid(1), stranger.address, alice.address);
      await expect(
        pm.connect(alice).setConditions(pid(1), { ...record, feeRate: record.feeRate + 1n }, 3, HASH_B),
      ).to.be.revertedWithCustomError(pm, "PolicyRecordMismatch");
      await expect(pm.connect(alice).setConditions(pid(2), record, 3, HASH_B)).to.be.revertedWithCustomError(
        pm,
        "UnknownPolicy",
      );
      expect(await conditionsOf(pm, pid(1))).to.deep.equal({ version: 2, hash: HASH_A });
    });

    it("src/policy's setConditions rebuilds the record and refuses a stale version before sending", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, nodes } = ctx;
      await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
      const tx = await setConditions(pm, alice, pid(1), 1, HASH_A);
      expect(tx).to.match(/^0x[0-9a-f]{64}$/);
      await expect(setConditions(pm, alice, pid(1), 1, HASH_B)).to.be.rejectedWith(
        StaleConditionsError,
        "already commits to conditions version 1",
      );
    });
  });

  describe("setConditionsWithSig", function () {
    it("accepts the owner's PolicyConditions signature from any sender, once", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, relayer, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
      const conditions = set(timeAfter(1_800_000_000));
      const signed = await signConditions(alice, await domainOf(ctx), { policyId: pid(1), version: 4, conditions });
      await expect(pm.connect(relayer).setConditionsWithSig(pid(1), record, 4, HASH_A, signed.ownerSignature))
        .to.emit(pm, "ConditionsSet")
        .withArgs(pid(1), 4n, HASH_A);
      await expect(pm.connect(relayer).setConditionsWithSig(pid(1), record, 4, HASH_A, signed.ownerSignature))
        .to.be.revertedWithCustomError(pm, "StaleConditionsVersion")
        .withArgs(pid(1), 4, 4);
      await expect(setConditionsWithSig(pm, relayer, pid(1), 4, HASH_A, signed.ownerSignature)).to.be.rejectedWith(
        StaleConditionsError,
      );
    });

    it("refuses a signature by another account, or for another version or hash", async function () {
      const ctx = await loadFixture(deployPolicyFixture);
      const { pm, alice, stranger, relayer, nodes } = ctx;
      const record = await createPolicy(ctx, { id: pid(1), nodes: [nodes[0]], periods: 5n });
      const domain = await domainOf(ctx);
      const conditions = set(timeAfter(1_800_000_000));
      const byStranger = await signConditions(stranger, domain, { policyId: pid(1), version: 1, conditions });
      const byAlice = await signConditions(alice, domain, { policyId: pid(1), version: 1, conditions });
      for (const [version, hash, signature] of [
        [1, HASH_A, byStranger.ownerSignature],
        [2, HASH_A, byAlice.ownerSignature],
        [1, HASH_B, byAlice.ownerSignature],
      ] as const) {
        await expect(pm.connect(relayer).setConditionsWithSig(pid(1), record, version, hash, signature))
          .to.be.revertedWithCustomError(pm, "InvalidConditionsSignature")
          .withArgs(pid(1), alice.address, version);
      }
      const tx = await setConditionsWithSig(pm, relayer, pid(1), 1, HASH_A, byAlice.ownerSignature);
      expect(tx).to.match(/^0x/);
    });
  });
});
