// Binding a condition set to its policy: the owner's EIP-712 signature over (policy id, version, conditions
// hash) in the PolicyManager's domain. Tampered conditions, another signer, another policy, another deployment,
// an on-chain commitment that differs and an older version are each refused with their own failure.
import { expect } from "chai";
import hre from "hardhat";
import { TypedDataEncoder } from "ethers";
import {
  CONDITIONS_TYPES,
  ConditionBindingError,
  ConditionFormatError,
  checkConditionSet,
  conditionsHash,
  signConditions,
  verifyConditions,
  type SignedConditionSet,
} from "../../src/conditions";
import { policyManagerDomain, randomPolicyId } from "../../src/policy";
import { CHAIN, erc20AtLeast, erc721Owner, set, timeAfter } from "./fixtures";

const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const POLICY_MANAGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const DOMAIN = { chainId: BigInt(CHAIN), policyManager: POLICY_MANAGER };

function failure(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof ConditionBindingError) return e.failure;
    if (e instanceof ConditionFormatError) return `FORMAT ${e.path}`;
    throw e;
  }
  expect.fail("expected the set to be refused");
}

describe("conditions: binding to the policy", function () {
  async function signed(version = 1) {
    const [alice, mallory] = await hre.ethers.getSigners();
    const policyId = randomPolicyId();
    const conditions = set(erc721Owner(TOKEN, 1));
    const s = await signConditions(alice, DOMAIN, { policyId, version, conditions });
    const wire = JSON.parse(JSON.stringify(s)) as SignedConditionSet;
    return { alice, mallory, policyId, conditions, signed: s, wire };
  }

  it("signs the EIP-712 struct the PolicyManager domain will check, and recovers the owner", async function () {
    const { alice, policyId, conditions, signed: s, wire } = await signed(3);
    expect(s).to.include({ policyId, version: 3 });
    const digest = TypedDataEncoder.hash(policyManagerDomain(BigInt(CHAIN), POLICY_MANAGER), CONDITIONS_TYPES, {
      policyId,
      version: 3n,
      conditionsHash: conditionsHash(conditions),
    });
    expect(hre.ethers.recoverAddress(digest, s.ownerSignature)).to.equal(alice.address);
    expect(verifyConditions(wire, DOMAIN).signer).to.equal(alice.address);
    const held = checkConditionSet(wire, DOMAIN, {
      policyId,
      owner: alice.address,
      committedHash: conditionsHash(conditions),
      committedVersion: 3,
    });
    expect(held.conditions).to.deep.equal(conditions);
  });

  it("refuses conditions altered after signing (a weaker threshold, a dropped condition)", async function () {
    const { alice, policyId, wire } = await signed();
    const expected = { policyId, owner: alice.address };
    const weaker = { ...wire, conditions: set(erc721Owner(TOKEN, 2)) };
    expect(failure(() => checkConditionSet(weaker, DOMAIN, expected))).to.equal("NOT_POLICY_OWNER");
    const dropped = { ...wire, conditions: null };
    expect(failure(() => checkConditionSet(dropped, DOMAIN, expected))).to.equal("NOT_POLICY_OWNER");
  });

  it("refuses a set signed by someone other than the owner", async function () {
    const { alice, mallory, policyId } = await signed();
    const forged = await signConditions(mallory, DOMAIN, { policyId, version: 9, conditions: null });
    const e = (() => {
      try {
        checkConditionSet(forged, DOMAIN, { policyId, owner: alice.address });
      } catch (error) {
        return error as ConditionBindingError;
      }
    })();
    expect(e?.failure).to.equal("NOT_POLICY_OWNER");
    expect(e?.message).to.equal(
      `the condition set is signed by ${mallory.address}, not by the policy owner ${alice.address}`,
    );
  });

  it("refuses a set for another policy, version or deployment", async function () {
    const { alice, policyId, wire } = await signed();
    const owner = alice.address;
    expect(failure(() => checkConditionSet(wire, DOMAIN, { policyId: randomPolicyId(), owner }))).to.equal(
      "OTHER_POLICY",
    );
    const renumbered = { ...wire, version: 2 };
    expect(failure(() => checkConditionSet(renumbered, DOMAIN, { policyId, owner }))).to.equal("NOT_POLICY_OWNER");
    const otherChain = { ...DOMAIN, chainId: 1n };
    // Validated for the other chain first: the conditions name chain 31337.
    expect(failure(() => checkConditionSet(wire, otherChain, { policyId, owner }))).to.equal(
      "FORMAT $.conditions.condition.chain",
    );
    const otherManager = { ...DOMAIN, policyManager: TOKEN };
    expect(failure(() => checkConditionSet(wire, otherManager, { policyId, owner }))).to.equal("NOT_POLICY_OWNER");
  });

  it("refuses a set that is not the one committed on-chain, and an older version than the one held", async function () {
    const { alice, policyId, wire } = await signed(4);
    const owner = alice.address;
    const otherHash = conditionsHash(set(timeAfter(1)));
    expect(failure(() => checkConditionSet(wire, DOMAIN, { policyId, owner, committedHash: otherHash }))).to.equal(
      "HASH_MISMATCH",
    );
    expect(failure(() => checkConditionSet(wire, DOMAIN, { policyId, owner, committedVersion: 5 }))).to.equal(
      "HASH_MISMATCH",
    );
    expect(failure(() => checkConditionSet(wire, DOMAIN, { policyId, owner, heldVersion: 5 }))).to.equal(
      "STALE_VERSION",
    );
    expect(checkConditionSet(wire, DOMAIN, { policyId, owner, heldVersion: 4 }).version).to.equal(4);
  });

  it("lets the owner replace a set with a higher version, and lift every condition", async function () {
    const { alice, policyId } = await signed(1);
    const lifted = await signConditions(alice, DOMAIN, { policyId, version: 2, conditions: null });
    const held = checkConditionSet(lifted, DOMAIN, {
      policyId,
      owner: alice.address,
      heldVersion: 1,
      committedHash: "0x" + "00".repeat(32),
    });
    expect(held.conditions).to.equal(null);
  });

  it("refuses to sign a malformed set, or one for another chain, before anything is signed", async function () {
    const [alice] = await hre.ethers.getSigners();
    const policyId = randomPolicyId();
    const otherChain = JSON.stringify(set({ ...erc20AtLeast(TOKEN, 1n), chain: 5 } as never));
    await expectFormat(
      signConditions(alice, DOMAIN, { policyId, version: 1, conditions: otherChain }),
      "$.condition.chain",
    );
    await expectFormat(signConditions(alice, DOMAIN, { policyId, version: 1, conditions: "{" }), "$");
    await expectFormat(signConditions(alice, DOMAIN, { policyId, version: 0, conditions: null }), "$.version");
  });

  it("refuses malformed envelopes with the field's path", async function () {
    const { wire } = await signed();
    const cases: [unknown, string][] = [
      [[], "FORMAT $"],
      [{ ...wire, extra: 1 }, "FORMAT $.extra"],
      [{ ...wire, policyId: "0x12" }, "FORMAT $.policyId"],
      [{ ...wire, version: 1.5 }, "FORMAT $.version"],
      [{ ...wire, ownerSignature: "0x" }, "FORMAT $.ownerSignature"],
      [{ ...wire, conditions: undefined }, "FORMAT $.conditions"],
      [
        { ...wire, conditions: { version: "1.0.0", condition: { conditionType: "x" } } },
        "FORMAT $.conditions.condition.conditionType",
      ],
      [{ ...wire, ownerSignature: "0x" + "00".repeat(65) }, "BAD_SIGNATURE"],
    ];
    for (const [input, expected] of cases) expect(failure(() => verifyConditions(input, DOMAIN))).to.equal(expected);
  });
});

async function expectFormat(promise: Promise<unknown>, path: string): Promise<void> {
  try {
    await promise;
  } catch (e) {
    expect(e).to.be.instanceOf(ConditionFormatError);
    expect((e as ConditionFormatError).path).to.equal(path);
    return;
  }
  expect.fail("expected a ConditionFormatError");
}
