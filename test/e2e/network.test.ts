// End to end on the in-process chain: staked nodes on loopback, Alice grants 3-of-5, Enrico encrypts,
// Bob retrieves and decrypts — and every way it must fail safely: node down, revoked, expired, restarted,
// forged uploads, malformed requests, a cheating node caught and slashed.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "@noble/hashes/utils";
import { getBytes } from "ethers";
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { grant } from "../../src/client/alice";
import { encryptBytes } from "../../src/client/enrico";
import { decryptBytes, NotEnoughCFragsError, type CheatingNode } from "../../src/client/bob-node";
import { reportEvidence } from "../../src/slashing";
import { publicKeyOf, type PolicyGrant } from "../../src/client/grant";
import { sealKFrag } from "../../src/network/delivery";
import { deliveryDigest } from "../../src/network/protocol";
import { revokePolicy } from "../../src/policy";
import { generateKFrags, KeyFrag, SecretKey, Signer as UmbralSigner } from "../../src/umbral";

const KMS = 10n ** 18n;
const STAKE = 100_000n * KMS;
const LOCK_PERIODS = 60n;
const POLICY_PERIODS = 10n;

describe("umbral-kms network (end to end)", function () {
  this.timeout(300_000);

  async function setUp(options: { cheaters?: number[] } = {}) {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const [deployer] = signers;
    const specs: LocalNodeSpec[] = [];
    for (let i = 0; i < 5; i++) {
      specs.push({
        staker: signers[1 + i],
        operator: signers[6 + i],
        stake: STAKE,
        lockPeriods: LOCK_PERIODS,
        cheat: options.cheaters?.includes(i),
      });
    }
    for (const spec of specs) await stakeAndBond(deployment, deployer, spec);
    const nodes = await startLocalNodes(deployment, specs);
    const alice = signers[11];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    const aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    const bobSk = SecretKey.random();
    const feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    const policy = await grant(deployment, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bobSk.publicKey(),
      threshold: 3,
      shares: 5,
      periods: POLICY_PERIODS,
      feeRate,
    });
    return { deployment, signers, specs, nodes, alice, aliceKeys, bobSk, policy, feeRate };
  }

  // Every test starts from the same empty chain: the deployment is made anew after each revert.
  let running: RunningNode[] = [];
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  afterEach(async function () {
    await Promise.all(running.map((n) => n.stop()));
    running = [];
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  async function fresh(options: { cheaters?: number[] } = {}) {
    const world = await setUp(options);
    running = [...world.nodes];
    return world;
  }

  it("shares a file 3-of-5: Bob decrypts exactly what Enrico encrypted", async function () {
    const { policy, bobSk } = await fresh();
    const plaintext = new Uint8Array(nodeRandomBytes(200_000));
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), plaintext, 64 * 1024);
    const opened = await decryptBytes(policy, bobSk, sealed);
    expect(Buffer.from(opened).equals(Buffer.from(plaintext))).to.equal(true);
  });

  it("still decrypts with a node down (m of the remaining n−1)", async function () {
    const { policy, bobSk, nodes } = await fresh();
    await nodes[0].stop();
    await nodes[3].stop();
    const sealed = await encryptBytes(
      publicKeyOf(policy.delegatingKey),
      new TextEncoder().encode("two nodes are down"),
    );
    const opened = await decryptBytes(policy, bobSk, sealed, { timeoutMs: 2_000 });
    expect(new TextDecoder().decode(opened)).to.equal("two nodes are down");
  });

  it("fails with NotEnoughCFragsError, naming each node, when fewer than m nodes answer", async function () {
    const { policy, bobSk, nodes } = await fresh();
    await Promise.all([nodes[0].stop(), nodes[1].stop(), nodes[2].stop()]);
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("x"));
    const error = await decryptBytes(policy, bobSk, sealed, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotEnoughCFragsError);
    expect((error as NotEnoughCFragsError).failures).to.have.length(3);
    expect((error as Error).message).to.match(/unreachable/);
  });

  it("nodes refuse a revoked policy", async function () {
    const { policy, bobSk, alice, deployment } = await fresh();
    await revokePolicy(deployment.policyManager, alice, policy.policyId);
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("revoked"));
    const error = await decryptBytes(policy, bobSk, sealed).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotEnoughCFragsError);
    expect((error as Error).message).to.match(/410 POLICY_REVOKED/);
  });

  it("nodes refuse an expired policy", async function () {
    const { policy, bobSk, deployment } = await fresh();
    const duration = await deployment.escrow.periodDuration();
    await time.increaseTo(BigInt(policy.endPeriod) * duration + 1n);
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("expired"));
    const error = await decryptBytes(policy, bobSk, sealed).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotEnoughCFragsError);
    expect((error as Error).message).to.match(/410 POLICY_EXPIRED/);
  });

  it("a node restarted from its store still serves the policy", async function () {
    const { policy, bobSk, nodes, specs, deployment } = await fresh();
    const restarted: RunningNode[] = [];
    for (const i of [0, 1, 2]) {
      const dataDir = nodes[i].dataDir;
      await nodes[i].stop();
      restarted.push(...(await startLocalNodes(deployment, [{ ...specs[i], dataDir }])));
    }
    await Promise.all([nodes[3].stop(), nodes[4].stop()]);
    running.push(...restarted);
    // The restarted nodes listen on new ports: Bob reads them from the directory, as a new grant would.
    const moved: PolicyGrant = {
      ...policy,
      nodes: restarted.map((n) => ({ staker: n.staker, url: n.url })),
      threshold: 3,
    };
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("after restart"));
    const opened = await decryptBytes(moved, bobSk, sealed);
    expect(new TextDecoder().decode(opened)).to.equal("after restart");
  });

  async function deliverKFrag(
    world: Awaited<ReturnType<typeof fresh>>,
    options: {
      signer?: import("ethers").Signer;
      kfragSigner?: UmbralSigner;
      nodeIndex?: number;
      tamper?: (kfrag: Uint8Array) => Uint8Array;
    } = {},
  ) {
    const { policy, nodes, alice, aliceKeys, bobSk, deployment } = world;
    const node = nodes[options.nodeIndex ?? 0];
    const delegatingSk = aliceKeys.delegatingKey(policy.policyId);
    const kfragSigner = options.kfragSigner ?? aliceKeys.signer();
    const [generated] = generateKFrags(delegatingSk, bobSk.publicKey(), kfragSigner, 1, 1, true, true);
    const kfrag = options.tamper
      ? KeyFrag.fromBytes(options.tamper(generated.toBytes())).skipVerification()
      : generated;
    const sealedKFrag = sealKFrag(node.encryptingKey.publicKey(), kfrag, {
      delegatingPk: delegatingSk.publicKey(),
      receivingPk: bobSk.publicKey(),
      verifyingPk: aliceKeys.signer().verifyingKey(),
    });
    const { chainId } = await hre.ethers.provider.getNetwork();
    const version = Date.now();
    const digest = deliveryDigest({
      chainId,
      policyManager: await deployment.policyManager.getAddress(),
      policyId: policy.policyId,
      staker: node.staker,
      version,
      capsule: sealedKFrag.capsule,
      ciphertext: sealedKFrag.ciphertext,
    });
    const signer = options.signer ?? alice;
    return fetch(`${node.url}/v1/policies/${policy.policyId}/kfrag`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        capsule: hex(sealedKFrag.capsule),
        ciphertext: hex(sealedKFrag.ciphertext),
        version,
        ownerSignature: await signer.signMessage(getBytes(digest)),
      }),
    });
  }

  describe("kfrag uploads, authorisation", function () {
    const deliver = (...args: Parameters<typeof deliverKFrag>) => deliverKFrag(...args);

    it("accepts a correct re-delivery by the owner", async function () {
      const world = await fresh();
      const response = await deliver(world);
      expect(response.status).to.equal(201);
    });

    it("rejects a delivery signed by someone other than the policy owner (403)", async function () {
      const world = await fresh();
      const response = await deliver(world, { signer: world.signers[12] });
      expect(response.status).to.equal(403);
      expect(((await response.json()) as { code: string }).code).to.equal("NOT_POLICY_OWNER");
    });

    it("rejects a forged kfrag that does not verify under the keys it claims (400)", async function () {
      const world = await fresh();
      const response = await deliver(world, { kfragSigner: new UmbralSigner(SecretKey.random()) });
      expect(response.status).to.equal(400);
      const body = (await response.json()) as { code: string; error: string };
      expect(body.code).to.equal("BAD_DELIVERY");
      expect(body.error).to.match(/kfrag rejected/);
    });
  });

  describe("kfrag uploads, receiver signature", function () {
    // KeyFrag layout: ... U1 (141..175) · proxy signature (c4 40 at 176, data 178..241) · receiver signature
    // (c4 40 at 242, data 244..307) · flags. Only the receiver's signature is replaced here.
    const RECEIVER_SIGNATURE = 244;

    it("rejects a kfrag whose signature for the receiver is not the delegator's (400)", async function () {
      const world = await fresh();
      const other = generateKFrags(
        SecretKey.random(),
        SecretKey.random().publicKey(),
        new UmbralSigner(SecretKey.random()),
        1,
        1,
        true,
        true,
      )[0].toBytes();
      const response = await deliverKFrag(world, {
        tamper: (bytes) => {
          const out = Uint8Array.from(bytes);
          out.set(other.subarray(RECEIVER_SIGNATURE, RECEIVER_SIGNATURE + 64), RECEIVER_SIGNATURE);
          return out;
        },
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: string }).error).to.match(/kfrag rejected/);
    });
  });

  describe("malformed HTTP requests get a 4xx with a message, and the node keeps serving", function () {
    const cases: [string, string, string, number][] = [
      ["body that is not JSON", "/reencrypt", "{not json", 400],
      ["missing capsules", "/reencrypt", "{}", 400],
      ["empty capsule list", "/reencrypt", '{"capsules":[]}', 400],
      ["non-hex capsule", "/reencrypt", '{"capsules":["zz"]}', 400],
      ["capsule that is not a capsule", "/reencrypt", '{"capsules":["0x00112233"]}', 400],
      ["extra fields", "/reencrypt", '{"capsules":["0x00"],"x":1}', 400],
      ["kfrag delivery without a signature", "/kfrag", '{"capsule":"0x00","ciphertext":"0x00"}', 400],
    ];
    for (const [what, route, body, status] of cases) {
      it(what, async function () {
        const { nodes, policy } = await fresh();
        const response = await fetch(`${nodes[0].url}/v1/policies/${policy.policyId}${route}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        expect(response.status).to.equal(status);
        const answer = (await response.json()) as { error: string };
        expect(answer.error).to.be.a("string").and.not.equal("");
        expect((await fetch(`${nodes[0].url}/v1/status`)).status).to.equal(200);
      });
    }

    it("an unknown policy id is 404, a malformed one 400", async function () {
      const { nodes, policy } = await fresh();
      const capsules = JSON.stringify({ capsules: ["0x00"] });
      const post = (id: string) =>
        fetch(`${nodes[0].url}/v1/policies/${id}/reencrypt`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: capsules,
        });
      expect((await post("0x" + "00".repeat(16))).status).to.equal(404);
      expect((await post("0x1234")).status).to.equal(400);
      expect((await post(policy.policyId)).status).to.equal(400);
    });
  });

  it("audits every node: both cheaters are caught, slashed on-chain, the reporter paid, and Bob still decrypts", async function () {
    const { policy, bobSk, deployment, signers, specs } = await fresh({ cheaters: [0, 1] });
    const reporter = signers[12];
    const cheatingStakers = [await specs[0].staker.getAddress(), await specs[1].staker.getAddress()];
    const stakesBefore = await Promise.all(cheatingStakers.map((s) => deployment.escrow.stakeOf(s)));
    const balanceBefore = await deployment.token.balanceOf(reporter.address);
    const cheaters: CheatingNode[] = [];
    const outcomes: Awaited<ReturnType<typeof reportEvidence>>[] = [];
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("despite cheaters"));
    const opened = await decryptBytes(policy, bobSk, sealed, {
      // Wait for every node, so the test does not depend on which answers arrive first.
      auditAll: true,
      onCheat: async (cheat) => {
        cheaters.push(cheat);
        outcomes.push(await reportEvidence(deployment.adjudicator, reporter, cheat.evidence));
      },
    });
    expect(new TextDecoder().decode(opened)).to.equal("despite cheaters");
    expect(cheaters.map((c) => c.staker).sort()).to.deep.equal([...cheatingStakers].sort());
    for (const outcome of outcomes) {
      expect(outcome.verdictName).to.equal("EEquationFailed");
      expect(outcome.penalty).to.be.greaterThan(0n);
      expect(outcome.reward).to.equal(outcome.penalty / 4n);
    }
    const totalReward = outcomes.reduce((sum, o) => sum + o.reward, 0n);
    expect(await deployment.token.balanceOf(reporter.address)).to.equal(balanceBefore + totalReward);
    for (const [i, staker] of cheatingStakers.entries()) {
      const outcome = outcomes.find((o) => o.staker === staker)!;
      expect(await deployment.escrow.stakeOf(staker)).to.equal(stakesBefore[i] - outcome.penalty);
    }
  });

  it("in the default mode stops at the first m good cfrags and still decrypts around cheaters", async function () {
    const { policy, bobSk } = await fresh({ cheaters: [0, 1] });
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode("fastest three"));
    const opened = await decryptBytes(policy, bobSk, sealed);
    expect(new TextDecoder().decode(opened)).to.equal("fastest three");
  });
});

function hex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes).toString("hex");
}
