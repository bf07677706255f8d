// Access conditions end to end on the in-process chain with nodes on loopback (src/network/local.ts): Alice
// grants with a condition set (signed, committed on-chain with the policy, sent with each kfrag), nodes judge
// every request by the set they hold. Time locks open with the chain's clock, token gates follow the tokens,
// Bob cannot strip or alter what the nodes hold, forged sets are refused at delivery, requester proofs that are
// expired, replayed, for another node or signed by someone else are refused, bad sets are refused before
// anything is paid, and unevaluable conditions are clear refusals — none of it ever reported as a cheat.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "@noble/hashes/utils";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { grant, redeliverFromJournal, replaceConditions, resumeGrant, type GrantRequest } from "../../src/client/alice";
import { MemoryJournalStore } from "../../src/client/journal";
import { encryptBytes } from "../../src/client/enrico";
import {
  conditionRefusalLines,
  decryptBytes,
  NotEnoughCFragsError,
  type RetrieveOptions,
} from "../../src/client/bob-node";
import { publicKeyOf, type PolicyGrant } from "../../src/client/grant";
import { encrypt, SecretKey } from "../../src/umbral";
import {
  ConditionFormatError,
  signConditions,
  signSiweProof,
  type ConditionExpression,
  type SiweProof,
} from "../../src/conditions";
import { conditionsOf, randomPolicyId, setConditions } from "../../src/policy";
import { hexlify } from "ethers";
import type { ConditionNFT, ConditionOracle, ConditionToken } from "../../typechain-types";
import { and, CHAIN, erc20AtLeast, erc721Owner, not, oracleCall, or, set, timeAfter } from "./fixtures";

const KMS = 10n ** 18n;
const STAKE = 100_000n * KMS;

describe("access conditions (end to end)", function () {
  this.timeout(600_000);

  let deployment: Deployment;
  let nodes: RunningNode[] = [];
  let alice: HardhatEthersSigner;
  let bob: HardhatEthersSigner;
  let carol: HardhatEthersSigner;
  let mallory: HardhatEthersSigner;
  let aliceKeys: AliceKeys;
  let feeRate: bigint;
  let nft: ConditionNFT;
  let token: ConditionToken;
  let oracle: ConditionOracle;

  before(async function () {
    deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = [0, 1, 2].map((i) => ({
      staker: signers[1 + i],
      operator: signers[4 + i],
      stake: STAKE,
      lockPeriods: 60n,
    }));
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    nodes = await startLocalNodes(deployment, specs);
    [alice, bob, carol, mallory] = [signers[10], signers[11], signers[12], signers[13]];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    nft = await hre.ethers.deployContract("ConditionNFT");
    token = await hre.ethers.deployContract("ConditionToken");
    oracle = await hre.ethers.deployContract("ConditionOracle");
  });
  after(async function () {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  /** Alice grants Bob's key 2-of-3 under `conditions`; returns the grant, Bob's key and the journal. */
  async function gated(conditions: ConditionExpression | string | undefined, extra: Partial<GrantRequest> = {}) {
    const bobSk = SecretKey.random();
    const journal = new MemoryJournalStore();
    const policy = await grant(deployment, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bobSk.publicKey(),
      threshold: 2,
      shares: 3,
      periods: 5n,
      feeRate,
      conditions,
      journal,
      ...extra,
    });
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("the secret"));
    return { policy, bobSk, journal, sealed };
  }

  /** Bob opens `sealed`: the text, or the NotEnoughCFragsError; any cheat reported fails the test. */
  async function open(
    policy: PolicyGrant,
    bobSk: SecretKey,
    sealed: Uint8Array,
    options: RetrieveOptions = {},
  ): Promise<string | NotEnoughCFragsError> {
    try {
      const plain = await decryptBytes(policy, bobSk, sealed, {
        timeoutMs: 20_000,
        onCheat: (c) => expect.fail(`a refusal was reported as a cheat: ${c.reason}`),
        ...options,
      });
      return new TextDecoder().decode(plain);
    } catch (e) {
      if (e instanceof NotEnoughCFragsError) return e;
      throw e;
    }
  }

  function refusedWith(outcome: string | NotEnoughCFragsError, pattern: RegExp): NotEnoughCFragsError {
    expect(outcome, "Bob should have been refused").to.be.instanceOf(NotEnoughCFragsError);
    const error = outcome as NotEnoughCFragsError;
    for (const f of error.failures) expect(f.reason).to.match(pattern);
    return error;
  }

  /** Posts `body` to node `i`'s route; resolves with the status and answer. */
  async function post(i: number, policyId: string, route: string, body: unknown) {
    const response = await fetch(`${nodes[i].url}/v1/policies/${policyId}/${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
  }

  const capsuleOf = (policy: PolicyGrant) =>
    hexlify(encrypt(publicKeyOf(policy.delegatingKey), new Uint8Array(32))[0].toBytes());

  it("a time-locked file opens only once the chain's time passes, each node saying which condition failed", async function () {
    const unlock = (await time.latest()) + 3600;
    const { policy, bobSk, sealed } = await gated(set(timeAfter(unlock)));
    expect(await conditionsOf(deployment.policyManager, policy.policyId)).to.include({ version: 1 });
    const error = refusedWith(
      await open(policy, bobSk, sealed),
      /403 CONDITION_NOT_MET: condition not met at \$\.condition/,
    );
    const lines = conditionRefusalLines(error.failures);
    expect(lines).to.have.length(3);
    for (const node of policy.nodes) expect(lines.some((l) => l.startsWith(`node ${node.staker}: `))).to.equal(true);
    await time.increaseTo(unlock);
    await hre.network.provider.send("evm_mine");
    expect(await open(policy, bobSk, sealed)).to.equal("the secret");
  });

  it("an ERC-721-gated file opens for the holder, is refused after the transfer and without a proof", async function () {
    await (await nft.mint(bob.address, 7)).wait();
    const { policy, bobSk, sealed } = await gated(set(erc721Owner(await nft.getAddress(), 7)));
    expect(await open(policy, bobSk, sealed, { requester: { signer: bob } })).to.equal("the secret");
    refusedWith(await open(policy, bobSk, sealed), /401 REQUESTER_PROOF_REQUIRED.*--account/);
    await (await nft.connect(bob).transferFrom(bob.address, carol.address, 7)).wait();
    refusedWith(
      await open(policy, bobSk, sealed, { requester: { signer: bob } }),
      /403 CONDITION_NOT_MET.*ownerOf\(7\)/,
    );
    expect(await open(policy, bobSk, sealed, { requester: { signer: carol } })).to.equal("the secret");
  });

  it("an ERC-20 threshold: at least 100 tokens, not 99", async function () {
    await (await token.mint(bob.address, 100n * KMS)).wait();
    await (await token.mint(carol.address, 99n * KMS)).wait();
    const { policy, bobSk, sealed } = await gated(set(erc20AtLeast(await token.getAddress(), 100n * KMS)));
    expect(await open(policy, bobSk, sealed, { requester: { signer: bob } })).to.equal("the secret");
    refusedWith(
      await open(policy, bobSk, sealed, { requester: { signer: carol } }),
      /403 CONDITION_NOT_MET.*balanceOf/,
    );
  });

  it("a compound condition: (NFT or 100 tokens) and before a date, and not a blocklisted oracle value", async function () {
    const tokenAddress = await token.getAddress();
    await (await token.mint(mallory.address, 500n * KMS)).wait();
    const end = (await time.latest()) + 7200;
    const expression = set(
      and(
        or(erc721Owner(await nft.getAddress(), 99), erc20AtLeast(tokenAddress, 100n * KMS)),
        timeAfter(end, "<"),
        not(oracleCall(await oracle.getAddress(), "valueOf", ":userAddress", 1)),
      ),
    );
    const { policy, bobSk, sealed } = await gated(expression);
    expect(await open(policy, bobSk, sealed, { requester: { signer: mallory } })).to.equal("the secret");
    await (await oracle.setValue(mallory.address, 1)).wait();
    refusedWith(
      await open(policy, bobSk, sealed, { requester: { signer: mallory } }),
      /403 CONDITION_NOT_MET: condition not met at \$\.condition\.operands\[2\]/,
    );
    await (await oracle.setValue(mallory.address, 0)).wait();
    await time.increaseTo(end);
    await hre.network.provider.send("evm_mine");
    refusedWith(
      await open(policy, bobSk, sealed, { requester: { signer: mallory } }),
      /condition not met at \$\.condition\.operands\[1\]/,
    );
  });

  it("Bob removing or altering the conditions in his grant or his request changes nothing", async function () {
    const unlock = (await time.latest()) + 3600;
    const { policy, bobSk, sealed } = await gated(set(timeAfter(unlock)));
    const stripped: PolicyGrant = { ...policy, conditions: undefined };
    refusedWith(await open(stripped, bobSk, sealed), /403 CONDITION_NOT_MET/);
    const permissive = await signConditions(
      bob,
      { chainId: BigInt(CHAIN), policyManager: await deployment.policyManager.getAddress() },
      { policyId: policy.policyId, version: 2, conditions: null },
    );
    const capsules = [capsuleOf(policy)];
    for (const injected of [{ conditions: null }, { conditions: permissive }, { conditions: permissive.conditions }]) {
      const { status, answer } = await post(0, policy.policyId, "reencrypt", { capsules, ...injected });
      expect(status, JSON.stringify(answer)).to.be.oneOf([400, 403]);
      expect(answer.cfrags).to.equal(undefined);
    }
    // Nor can he hand a node a set of his own, signed by himself.
    const { status, answer } = await post(0, policy.policyId, "conditions", permissive);
    expect([status, answer.code]).to.deep.equal([403, "CONDITIONS_NOT_OWNERS"]);
    refusedWith(await open(policy, bobSk, sealed), /403 CONDITION_NOT_MET/);
  });

  it("a forged set is refused at delivery: not the owner's, not the committed one, missing, malformed", async function () {
    const unlock = (await time.latest()) + 3600;
    const { policy, journal } = await gated(set(timeAfter(unlock)));
    const delivery = journal.journal!.deliveries[0];
    const domain = { chainId: BigInt(CHAIN), policyManager: await deployment.policyManager.getAddress() };
    const body = {
      capsule: delivery.capsule,
      ciphertext: delivery.ciphertext,
      version: delivery.version + 1,
      ownerSignature: delivery.ownerSignature,
    };
    const byMallory = await signConditions(mallory, domain, {
      policyId: policy.policyId,
      version: 1,
      conditions: null,
    });
    const other = await signConditions(alice, domain, {
      policyId: policy.policyId,
      version: 1,
      conditions: set(timeAfter(unlock - 3600)),
    });
    const cases: [unknown, number, string][] = [
      [byMallory, 403, "CONDITIONS_NOT_OWNERS"],
      [other, 403, "CONDITIONS_NOT_COMMITTED"],
      [undefined, 403, "CONDITIONS_REQUIRED"],
      [{ ...other, conditions: { version: "1.0.0", condition: { conditionType: "jwt" } } }, 400, "BAD_CONDITIONS"],
      // The committed set, but the owner's delivery signature binds it to version delivery.version, not this one.
      [journal.journal!.conditions, 403, "NOT_POLICY_OWNER"],
    ];
    for (const [conditions, status, code] of cases) {
      const answer = await post(0, policy.policyId, "kfrag", conditions === undefined ? body : { ...body, conditions });
      expect([answer.status, answer.answer.code], JSON.stringify(answer.answer)).to.deep.equal([status, code]);
    }
  });

  it("requester proofs expired, replayed, for another node or signed by someone else are refused", async function () {
    await (await nft.mint(bob.address, 8)).wait();
    const { policy } = await gated(set(erc721Owner(await nft.getAddress(), 8)));
    const capsules = [capsuleOf(policy)];
    const chainId = BigInt(CHAIN);
    const now = await time.latest();
    const ask = (proof: SiweProof, i = 0) => post(i, policy.policyId, "reencrypt", { capsules, requester: proof });
    const fresh = await signSiweProof(bob, { uri: nodes[0].url, chainId }, now);
    expect((await ask(fresh)).status).to.equal(200);
    const replayed = await ask(fresh);
    expect([replayed.status, replayed.answer.code]).to.deep.equal([401, "REQUESTER_PROOF_REFUSED"]);
    expect(replayed.answer.error).to.match(/already used/);
    const expired = await ask(await signSiweProof(bob, { uri: nodes[0].url, chainId }, now - 1000));
    expect(expired.status).to.equal(401);
    expect(expired.answer.error).to.match(/expired/);
    const elsewhere = await ask(await signSiweProof(bob, { uri: nodes[1].url, chainId }, now));
    expect(elsewhere.status).to.equal(401);
    expect(elsewhere.answer.error).to.match(/not this node's/);
    const forged = await signSiweProof(bob, { uri: nodes[0].url, chainId }, now);
    const signedByMallory = { ...forged, signature: await mallory.signMessage(forged.message) };
    const other = await ask(signedByMallory);
    expect(other.status).to.equal(401);
    expect(other.answer.error).to.match(/but 0x[0-9a-fA-F]{40} signed it/);
  });

  it("Alice replaces the conditions with a higher version on-chain and at every node; a superseded set is never used", async function () {
    const unlock = (await time.latest()) + 3600;
    const { policy, bobSk, journal, sealed } = await gated(set(timeAfter(unlock)));
    refusedWith(await open(policy, bobSk, sealed), /CONDITION_NOT_MET/);
    const lifted = await replaceConditions(deployment, journal.journal!, journal, { owner: alice, conditions: null });
    expect(lifted.version).to.equal(2);
    expect(await conditionsOf(deployment.policyManager, policy.policyId)).to.include({ version: 2 });
    expect(await open(policy, bobSk, sealed)).to.equal("the secret");
    // The same set again resends it and changes nothing.
    expect(
      (await replaceConditions(deployment, journal.journal!, journal, { owner: alice, conditions: null })).version,
    ).to.equal(2);
    // A version committed on-chain that the nodes were not sent: they refuse rather than use the old one.
    await setConditions(deployment.policyManager, alice, policy.policyId, 3, "0x" + "ab".repeat(32));
    refusedWith(await open(policy, bobSk, sealed), /403 CONDITIONS_OUTDATED/);
  });

  it("bad condition sets are refused before anything is paid, each with a clear error", async function () {
    const before = await deployment.token.balanceOf(alice.address);
    const deep = (n: number): ConditionExpression["condition"] => (n === 0 ? timeAfter(1) : not(deep(n - 1)));
    for (const [input, pattern] of [
      ["{ not json", /not valid JSON|JSON/],
      [JSON.stringify(set({ conditionType: "jwt" } as never)), /unknown condition type "jwt"/],
      [set(deep(6)), /nest deeper than 4 levels/],
    ] as const) {
      const policyId = randomPolicyId();
      const error = await gated(input as ConditionExpression | string, { policyId }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ConditionFormatError);
      expect((error as Error).message).to.match(pattern);
      expect(await deployment.policyManager.policyCommitment(policyId)).to.equal("0x" + "00".repeat(32));
    }
    expect(await deployment.token.balanceOf(alice.address)).to.equal(before);
  });

  it("a call to a non-contract or a reverting call is refused as not evaluable, never allowed", async function () {
    const broken = set(oracleCall(await oracle.getAddress(), "broken", 1, 1));
    const reverting = await gated(broken);
    refusedWith(await open(reverting.policy, reverting.bobSk, reverting.sealed), /403 CONDITION_NOT_EVALUABLE.*revert/);
    const negated = await gated(set(not(broken.condition)));
    refusedWith(await open(negated.policy, negated.bobSk, negated.sealed), /403 CONDITION_NOT_EVALUABLE/);
    const eoa = await gated(set(erc721Owner(carol.address, 1)));
    refusedWith(
      await open(eoa.policy, eoa.bobSk, eoa.sealed, { requester: { signer: bob } }),
      /403 CONDITION_NOT_EVALUABLE.*(no code|not a contract)/,
    );
  });

  it("an interrupted conditional grant resumes: created committed to its set, every kfrag sent with it", async function () {
    const unlock = (await time.latest()) + 3600;
    const bobSk = SecretKey.random();
    const store = new MemoryJournalStore();
    const request: GrantRequest = {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bobSk.publicKey(),
      threshold: 2,
      shares: 3,
      periods: 5n,
      feeRate,
      conditions: JSON.stringify(set(timeAfter(unlock))),
      journal: store,
      faults: { afterJournal: () => Promise.reject(new Error("killed")) },
    };
    await expect(grant(deployment, request)).to.be.rejectedWith("killed");
    const journal = store.journal!;
    expect(journal.conditions?.version).to.equal(1);
    const policy = await resumeGrant(deployment, alice, journal, store);
    expect(await conditionsOf(deployment.policyManager, policy.policyId)).to.include({ version: 1 });
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("resumed"));
    refusedWith(await open(policy, bobSk, sealed), /CONDITION_NOT_MET/);
  });

  it("after a replacement, a kfrag sent again is re-signed for the current set; older sets are refused", async function () {
    const unlock = (await time.latest()) + 3600;
    const { policy, bobSk, journal, sealed } = await gated(set(timeAfter(unlock)));
    const first = journal.journal!.conditions!;
    const lifted = await replaceConditions(deployment, journal.journal!, journal, { owner: alice, conditions: null });
    // The old set again at the conditions route: stale; the same set again: unchanged.
    const old = await post(0, policy.policyId, "conditions", first);
    expect([old.status, old.answer.code]).to.deep.equal([403, "CONDITIONS_NOT_COMMITTED"]);
    expect((await post(0, policy.policyId, "conditions", lifted)).status).to.equal(200);
    const before = journal.journal!.deliveries[0].version;
    await redeliverFromJournal(deployment, journal.journal!, journal, {
      owner: alice,
      stakers: [policy.nodes[0].staker],
    });
    const resent = journal.journal!.deliveries[0];
    expect(resent.version).to.be.above(before);
    expect(resent.conditionsVersion).to.equal(2);
    expect(resent.acknowledged).to.not.equal(undefined);
    expect(await open(policy, bobSk, sealed)).to.equal("the secret");
    // A node that holds no kfrag for a policy takes no conditions for it.
    const none = await post(0, randomPolicyId(), "conditions", lifted);
    expect(none.status).to.equal(404);
  });

  it("a policy without conditions is served as before (v2 deliveries, no proof)", async function () {
    const { policy, bobSk, sealed } = await gated(undefined);
    expect(policy.conditions).to.equal(undefined);
    expect(await conditionsOf(deployment.policyManager, policy.policyId)).to.deep.equal({
      version: 0,
      hash: "0x" + "00".repeat(32),
    });
    expect(await open(policy, bobSk, sealed)).to.equal("the secret");
  });
});
