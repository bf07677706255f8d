// Kfrag delivery against hostile announcements and replays: announced URLs are checked before Alice pays or
// sends anything, a node must acknowledge storage with its operator's signature, and an old delivery replayed
// after a re-delivery does not overwrite the newer kfrag.
import { expect } from "chai";
import hre from "hardhat";
import { randomBytes } from "@noble/hashes/utils";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { getBytes, hexlify } from "ethers";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import { NodeStartError, startNode, type RunningNode } from "../../src/node/daemon";
import { KFragStore } from "../../src/node/store";
import { AliceKeys } from "../../src/client/keys";
import { grant, redeliver, KFragDeliveryFailedError } from "../../src/client/alice";
import { NotEnoughLiveNodesError } from "../../src/client/liveness";
import { sealKFrag } from "../../src/network/delivery";
import {
  deliveryDigest,
  nodeEndpoint,
  NodeUrlError,
  parseNodeUrl,
  type KFragDelivery,
  type KFragReceipt,
} from "../../src/network/protocol";
import { generateKFrags, SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;

describe("node URLs", function () {
  const refused: [string, RegExp][] = [
    ["http://127.0.0.1:9000/admin/restart?x=", /query/],
    ["http://127.0.0.1:9000/?", /query/],
    ["http://127.0.0.1:9000/#top", /fragment/],
    ["http://user:secret@node.example/", /credentials/],
    ["http://@node.example/", /credentials/],
    ["ftp://node.example/", /scheme/],
    ["javascript:alert(1)", /scheme/],
    ["file:///etc/passwd", /scheme/],
    ["http://node.example/\tadmin", /whitespace/],
    [" http://node.example/", /whitespace/],
    ["node.example:8080", /scheme|not a URL/],
    ["", /empty/],
    ["http://node.example/" + "a".repeat(260), /longer than 256/],
  ];
  for (const [url, reason] of refused) {
    it(`refuses ${JSON.stringify(url.slice(0, 50))}`, function () {
      expect(() => parseNodeUrl(url))
        .to.throw(NodeUrlError)
        .with.property("message")
        .that.matches(reason);
    });
  }

  it("builds request URLs under the announced base, path prefix included, segments encoded", function () {
    expect(nodeEndpoint("https://node.example:8443", "v1", "status")).to.equal("https://node.example:8443/v1/status");
    expect(nodeEndpoint("https://node.example/kms/", "v1", "status")).to.equal("https://node.example/kms/v1/status");
    expect(nodeEndpoint("http://[::1]:80/kms", "v1", "policies", "0xab", "kfrag")).to.equal(
      "http://[::1]/kms/v1/policies/0xab/kfrag",
    );
    expect(nodeEndpoint("http://node.example", "v1", "../admin", "x?y")).to.equal(
      "http://node.example/v1/..%2Fadmin/x%3Fy",
    );
  });
});

describe("kfrag delivery", function () {
  this.timeout(300_000);
  let running: RunningNode[] = [];
  let servers: Server[] = [];
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });
  afterEach(async function () {
    await Promise.all(running.map((n) => n.stop()));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    running = [];
    servers = [];
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  async function staked(count: number) {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = [];
    for (let i = 0; i < count; i++) {
      specs.push({ staker: signers[1 + i], operator: signers[6 + i], stake: 100_000n * KMS, lockPeriods: 60n });
    }
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    const alice = signers[11];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    const feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    return { deployment, signers, specs, alice, feeRate };
  }

  /** A 1-of-1 grant served by `staker`, for a fresh Bob; resolves with the grant's error (or its result). */
  function grantOneNode(
    deployment: Awaited<ReturnType<typeof staked>>["deployment"],
    alice: Awaited<ReturnType<typeof staked>>["alice"],
    feeRate: bigint,
    staker: string,
  ): Promise<unknown> {
    return grant(deployment, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: SecretKey.random().publicKey(),
      threshold: 1,
      shares: 1,
      periods: 5n,
      feeRate,
      nodes: [staker],
    }).catch((e: unknown) => e);
  }

  /**
   * An HTTP server that records every request and answers each with `answer` (201, JSON); `GET /v1/status`
   * with `status` when given (what a live node consistent with the chain reports).
   */
  async function fakeNode(answer: unknown, status?: () => Promise<unknown>) {
    const requests: { method?: string; url?: string }[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      requests.push({ method: request.method, url: request.url });
      request.resume();
      const reply = async () =>
        request.method === "GET" && request.url === "/v1/status" && status ? [200, await status()] : [201, answer];
      void reply().then(([code, body]) =>
        response.writeHead(code as number, { "content-type": "application/json" }).end(JSON.stringify(body)),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    return { requests, port: (server.address() as AddressInfo).port };
  }

  /** The status a live node of `spec` with encrypting key `key` reports. */
  function liveStatus(deployment: Awaited<ReturnType<typeof staked>>["deployment"], spec: LocalNodeSpec, key: string) {
    return async () => ({
      staker: await spec.staker.getAddress(),
      operator: await spec.operator.getAddress(),
      encryptingKey: key,
      chainId: (await hre.ethers.provider.getNetwork()).chainId.toString(),
      contracts: {
        escrow: await deployment.escrow.getAddress(),
        policyManager: await deployment.policyManager.getAddress(),
        nodeDirectory: await deployment.nodeDirectory.getAddress(),
      },
      acceptingKFrags: true,
    });
  }

  it("refuses a node that announced a URL with a query, before paying or sending anything", async function () {
    const { deployment, specs, alice, feeRate } = await staked(1);
    const fake = await fakeNode({ stored: true });
    const staker = await specs[0].staker.getAddress();
    const key = hexlify(SecretKey.random().publicKey().toCompressedBytes());
    const internal = `http://127.0.0.1:${fake.port}/admin/restart?x=`;
    await (await deployment.nodeDirectory.connect(specs[0].operator).announce(internal, key)).wait();
    const balance = await deployment.token.balanceOf(alice.address);

    const error = await grantOneNode(deployment, alice, feeRate, staker);
    expect(error).to.be.instanceOf(NodeUrlError);
    expect((error as Error).message).to.match(/has a query/);
    expect(fake.requests).to.deep.equal([]);
    expect(await deployment.token.balanceOf(alice.address)).to.equal(balance);
  });

  it("does not report success for a node that answers 201 without a signed acknowledgement", async function () {
    const { deployment, specs, alice, feeRate } = await staked(1);
    const staker = await specs[0].staker.getAddress();
    const key = hexlify(SecretKey.random().publicKey().toCompressedBytes());
    for (const answer of [{ stored: true }, { stored: true, signature: await alice.signMessage("not an ack") }]) {
      const fake = await fakeNode(answer, liveStatus(deployment, specs[0], key));
      await (
        await deployment.nodeDirectory.connect(specs[0].operator).announce(`http://127.0.0.1:${fake.port}`, key)
      ).wait();
      const error = await grantOneNode(deployment, alice, feeRate, staker);
      expect(error).to.be.instanceOf(KFragDeliveryFailedError);
      expect((error as Error).message).to.match(/did not acknowledge storage/);
      expect(fake.requests.map((r) => r.url)).to.have.length(2);
      expect(fake.requests[0].url).to.equal("/v1/status");
      expect(fake.requests[1].url).to.match(/^\/v1\/policies\/0x[0-9a-f]{32}\/kfrag$/);
    }
  });

  it("a node whose status disagrees with the chain is refused before paying, with the reason", async function () {
    const { deployment, specs, alice, feeRate } = await staked(1);
    const staker = await specs[0].staker.getAddress();
    const key = hexlify(SecretKey.random().publicKey().toCompressedBytes());
    const live = liveStatus(deployment, specs[0], key);
    const cases: [string, (s: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      ["another chain", (s) => ({ ...s, chainId: "1" }), /serves chain 1/],
      ["another key", (s) => ({ ...s, encryptingKey: "0x02" + "11".repeat(32) }), /is not the announced/],
      ["another operator", (s) => ({ ...s, operator: alice.address }), /bonded operator is/],
      [
        "another PolicyManager",
        (s) => ({ ...s, contracts: { ...(s.contracts as object), policyManager: alice.address } }),
        /policyManager at/,
      ],
      [
        "not serving",
        (s) => ({ ...s, acceptingKFrags: false, notAcceptingReason: "lock too short" }),
        /lock too short/,
      ],
    ];
    const balance = await deployment.token.balanceOf(alice.address);
    for (const [what, change, reason] of cases) {
      const fake = await fakeNode({ stored: true }, async () => change(await live()));
      await (
        await deployment.nodeDirectory.connect(specs[0].operator).announce(`http://127.0.0.1:${fake.port}`, key)
      ).wait();
      const error = await grantOneNode(deployment, alice, feeRate, staker);
      expect(error, what).to.be.instanceOf(NotEnoughLiveNodesError);
      expect((error as Error).message, what).to.match(reason);
      expect(
        fake.requests.map((r) => r.url),
        what,
      ).to.deep.equal(["/v1/status"]);
    }
    expect(await deployment.token.balanceOf(alice.address)).to.equal(balance);
  });

  it("a node refuses to announce a URL with credentials (NodeStartError)", async function () {
    const { deployment, specs } = await staked(1);
    const error = await startNode({
      escrow: deployment.escrow,
      policyManager: deployment.policyManager,
      nodeDirectory: deployment.nodeDirectory,
      operator: specs[0].operator,
      dataDir: mkdtempSync(path.join(tmpdir(), "kms-url-")),
      publicUrl: "http://admin:admin@127.0.0.1:1/",
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeStartError);
    expect((error as Error).message).to.match(/credentials/);
    expect((await deployment.nodeDirectory.nodeOf(await specs[0].staker.getAddress())).url).to.equal("");
  });

  it("an old delivery replayed after a re-delivery is refused and the newer kfrag stays", async function () {
    const { deployment, specs, alice, feeRate } = await staked(3);
    const nodes = await startLocalNodes(deployment, specs);
    running = nodes;
    const aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    const bob = SecretKey.random();
    const policy = await grant(deployment, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods: 5n,
      feeRate,
      version: 1,
    });

    // What an eavesdropper kept of the first delivery to node 0: a body like Alice's, version 1.
    const delegatingSk = aliceKeys.delegatingKey(policy.policyId);
    const keys = {
      delegatingPk: delegatingSk.publicKey(),
      receivingPk: bob.publicKey(),
      verifyingPk: aliceKeys.signer().verifyingKey(),
    };
    const [oldKFrag] = generateKFrags(delegatingSk, bob.publicKey(), aliceKeys.signer(), 2, 3, true, true);
    const { chainId } = await hre.ethers.provider.getNetwork();
    const sealed = sealKFrag(nodes[0].encryptingKey.publicKey(), oldKFrag, keys);
    const digest = deliveryDigest({
      chainId,
      policyManager: await deployment.policyManager.getAddress(),
      policyId: policy.policyId,
      staker: nodes[0].staker,
      version: 1,
      ...sealed,
    });
    const old: KFragDelivery = {
      capsule: hexlify(sealed.capsule),
      ciphertext: hexlify(sealed.ciphertext),
      version: 1,
      ownerSignature: await alice.signMessage(getBytes(digest)),
    };
    const post = (body: KFragDelivery) =>
      fetch(nodeEndpoint(nodes[0].url, "v1", "policies", policy.policyId, "kfrag"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // Same version as the one held, another delivery: a conflict, not an overwrite.
    const conflict = await post(old);
    expect(conflict.status).to.equal(409);
    expect(((await conflict.json()) as { code: string }).code).to.equal("DELIVERY_CONFLICT");

    await redeliver(deployment, {
      owner: alice,
      keys: aliceKeys,
      policyId: policy.policyId,
      receivingKey: bob.publicKey(),
      threshold: 2,
      nodes: policy.nodes.map((n) => n.staker),
      version: 2,
    });

    const replay = await post(old);
    expect(replay.status).to.equal(409);
    const answer = (await replay.json()) as { code: string; error: string };
    expect(answer.code).to.equal("STALE_DELIVERY");
    expect(answer.error).to.match(/holds version 2, newer than 1/);

    // Offline, the store holds the re-delivered set's kfrag, not the replayed one.
    const held = await heldBy(nodes[0], policy.policyId);
    expect(held?.version).to.equal(2);
    expect(held?.kfrag).to.be.a("string").and.not.equal(hexlify(oldKFrag.toBytes()));
  });

  it("the same delivery sent twice is acknowledged twice (a retry), with the operator's signature", async function () {
    const { deployment, specs, alice } = await staked(1);
    const nodes = await startLocalNodes(deployment, specs);
    running = nodes;
    const aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    const bob = SecretKey.random();
    const policy = await grant(deployment, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bob.publicKey(),
      threshold: 1,
      shares: 1,
      periods: 5n,
      feeRate: (await deployment.policyManager.feeRateRange())[0] || 1n,
    });
    const delegatingSk = aliceKeys.delegatingKey(policy.policyId);
    const [kfrag] = generateKFrags(delegatingSk, bob.publicKey(), aliceKeys.signer(), 1, 1, true, true);
    const sealed = sealKFrag(nodes[0].encryptingKey.publicKey(), kfrag, {
      delegatingPk: delegatingSk.publicKey(),
      receivingPk: bob.publicKey(),
      verifyingPk: aliceKeys.signer().verifyingKey(),
    });
    const version = Date.now() + 1_000;
    const digest = deliveryDigest({
      chainId: (await hre.ethers.provider.getNetwork()).chainId,
      policyManager: await deployment.policyManager.getAddress(),
      policyId: policy.policyId,
      staker: nodes[0].staker,
      version,
      ...sealed,
    });
    const body = JSON.stringify({
      capsule: hexlify(sealed.capsule),
      ciphertext: hexlify(sealed.ciphertext),
      version,
      ownerSignature: await alice.signMessage(getBytes(digest)),
    });
    const url = nodeEndpoint(nodes[0].url, "v1", "policies", policy.policyId, "kfrag");
    const send = () => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    const statuses = [];
    for (const response of [await send(), await send()]) {
      statuses.push(response.status);
      const receipt = (await response.json()) as KFragReceipt;
      expect(receipt.operator).to.equal(await specs[0].operator.getAddress());
      expect(receipt.version).to.equal(version);
    }
    expect(statuses).to.deep.equal([201, 200]);
  });

  /** The kfrag `node` holds for `policyId`, read offline (the node is stopped first). */
  async function heldBy(node: RunningNode, policyId: string) {
    await node.stop();
    const store = await KFragStore.open(path.join(node.dataDir, "kfrags"));
    try {
      return await store.get(policyId);
    } finally {
      await store.close();
    }
  }
});
