// The node's re-encryption worker pool (issue 16): cfrags made in the workers verify and decrypt, their
// attestations recover the operator (signed in the workers with a local key, or on the server's thread with
// another signer), `cheat` still yields signed, slashable cfrags, bad capsules are 400 BAD_CAPSULE, a worker
// that dies fails its request with 503 and is replaced, a full queue is 503 with Retry-After, and
// `workers: 0` does the same in the server's thread. The fast attestation signer gives ethers' bytes exactly.
// Hermetic: app.inject, a fake chain, temporary stores; every wait is on an event with a deadline.
import { expect } from "chai";
import { BroadcastChannel } from "node:worker_threads";
import { mkdtempSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { getBytes, hexlify, Wallet } from "ethers";
import type { FastifyInstance } from "fastify";
import { buildNodeServer, type NodeServerLimits } from "../../src/node/server";
import { KFragStore } from "../../src/node/store";
import { AttestationSigner, OperatorKeyError } from "../../src/node/attestation";
import { ReencryptionPool } from "../../src/node/pool";
import type { PolicyView } from "../../src/network/chain";
import {
  attestationDigest,
  evidenceOf,
  predictVerdict,
  recoverOperator,
  signAttestation,
  Verdict,
} from "../../src/slashing";
import { Capsule, CapsuleFrag, decryptReencrypted, encrypt } from "../../src/umbral";
import { closedAfterEach, heldPolicy, TEST_STAKER, testIdentity } from "./fixture";
import { CRASH_CAPSULE, HOLD_CAPSULE, TEST_CHANNEL } from "./pool-test-task";

const POLICY_ID = "0x" + "cd".repeat(16);
const TEST_TASK = path.join(__dirname, "pool-test-task.ts");

interface ReencryptAnswer {
  code?: string;
  operator?: string;
  cfrags?: { cfrag: string; signature: string }[];
}

/** A policy of 1 kfrag held by the node, Bob's key and a sealed message. */
function makePolicy() {
  const held = heldPolicy(POLICY_ID);
  const plaintext = randomBytes(64);
  const [capsule, ciphertext] = encrypt(held.alice.publicKey(), plaintext);
  return { ...held, capsule, ciphertext, plaintext };
}

/** Resolves when `predicate()` holds, checking every few ms; rejects after `ms`. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("node re-encryption worker pool", function () {
  this.timeout(120_000);
  const policy = makePolicy();
  const capsuleHex = hexlify(policy.capsule.toBytes());
  const open = closedAfterEach();

  async function start(options: {
    workers: number;
    cheat?: boolean;
    remoteSigner?: boolean;
    limits?: Partial<NodeServerLimits>;
    workerTaskModule?: string;
  }) {
    const store = (open.store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-pool-"))));
    await store.put(policy.stored);
    const operator = Wallet.createRandom();
    const policies: PolicyView = {
      getPolicy: async () => ({ owner: TEST_STAKER, nodes: [TEST_STAKER], endPeriod: 1000n, revoked: false }),
      currentPeriod: async () => 1n,
    };
    const app = (open.app = buildNodeServer({
      identity: {
        ...testIdentity(operator),
        // A remote signer: the key stays out of the node's reach, the attestations go through signTypedData.
        ...(options.remoteSigner ? {} : { operatorKey: operator.privateKey }),
      },
      store,
      policies,
      limits: { refusalDelayMs: 0, ...options.limits },
      workers: options.workers,
      cheat: options.cheat,
      workerTaskModule: options.workerTaskModule,
    }));
    await app.ready();
    return { app, operator };
  }

  async function reencrypt(node: FastifyInstance, capsules: string[]) {
    const answer = await node.inject({
      method: "POST",
      url: `/v1/policies/${POLICY_ID}/reencrypt`,
      payload: { capsules },
    });
    return { status: answer.statusCode, headers: answer.headers, body: answer.json<ReencryptAnswer>() };
  }

  /** Checks every cfrag of `body` is signed by `operator`; returns the signed cfrags. */
  function signedCFrags(
    body: ReencryptAnswer,
    capsule: Capsule,
    operator: string,
    domain = testIdentity().attestation,
  ) {
    return body.cfrags!.map(({ cfrag, signature }) => {
      const raw = CapsuleFrag.fromBytes(getBytes(cfrag));
      const signed = {
        capsule: capsule.toBytesSimple(),
        cfrag: raw.toBytesSimple(),
        delegatingKey: getBytes(policy.stored.delegatingKey),
        receivingKey: getBytes(policy.stored.receivingKey),
        verifyingKey: getBytes(policy.stored.verifyingKey),
        nodeSignature: getBytes(signature),
      };
      expect(recoverOperator(signed, domain)).to.equal(operator);
      return { raw, signed };
    });
  }

  for (const [name, settings] of [
    ["in worker threads, signing there with the local key", { workers: 2 }],
    ["in worker threads, signing on the server's thread with a remote signer", { workers: 1, remoteSigner: true }],
    ["in the server's thread (workers: 0)", { workers: 0 }],
  ] as const) {
    it(`re-encrypts ${name}: cfrags verify and decrypt, attestations recover the operator`, async function () {
      const { app: node, operator } = await start(settings);
      const answer = await reencrypt(node, [capsuleHex, capsuleHex, capsuleHex]);
      expect(answer.status).to.equal(200);
      expect(answer.body.cfrags).to.have.length(3);
      for (const { raw } of signedCFrags(answer.body, policy.capsule, operator.address)) {
        const verified = raw.verify(
          policy.capsule,
          policy.verifyingPk,
          policy.alice.publicKey(),
          policy.bob.publicKey(),
        );
        const opened = decryptReencrypted(
          policy.bob,
          policy.alice.publicKey(),
          policy.capsule,
          [verified],
          policy.ciphertext,
        );
        expect(Buffer.from(opened).equals(policy.plaintext)).to.equal(true);
      }
      const metrics = await node.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).to.match(/^kms_node_cfrags_total 3$/m);
      expect(metrics.body).to.match(new RegExp(`^kms_node_reencryption_workers ${settings.workers}$`, "m"));
    });
  }

  for (const workers of [1, 0]) {
    it(`a cheating node's cfrags are signed and slashable (workers: ${workers})`, async function () {
      const { app: node, operator } = await start({ workers, cheat: true });
      const answer = await reencrypt(node, [capsuleHex]);
      expect(answer.status).to.equal(200);
      const [{ raw, signed }] = signedCFrags(answer.body, policy.capsule, operator.address);
      expect(() =>
        raw.verify(policy.capsule, policy.verifyingPk, policy.alice.publicKey(), policy.bob.publicKey()),
      ).to.throw();
      expect(predictVerdict(evidenceOf(signed))).to.not.equal(Verdict.Correct);
    });

    it(`answers 400 BAD_CAPSULE for a capsule that is not one (workers: ${workers})`, async function () {
      const { app: node } = await start({ workers });
      const answer = await reencrypt(node, [capsuleHex, "0x0102"]);
      expect(answer.status).to.equal(400);
      expect(answer.body.code).to.equal("BAD_CAPSULE");
      expect(String((answer.body as { error?: string }).error)).to.match(/^capsule 1: /);
    });
  }

  it("fails the request of a worker that dies with 503 and Retry-After, and serves the next one", async function () {
    const { app: node, operator } = await start({
      workers: 1,
      workerTaskModule: TEST_TASK,
      limits: { retryAfterSeconds: 4 },
    });
    const crashed = await reencrypt(node, [CRASH_CAPSULE]);
    expect(crashed.status).to.equal(503);
    expect(crashed.body.code).to.equal("WORKER_FAILED");
    expect(crashed.headers["retry-after"]).to.equal("4");
    const next = await reencrypt(node, [capsuleHex]);
    expect(next.status).to.equal(200);
    signedCFrags(next.body, policy.capsule, operator.address);
    const metrics = await node.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).to.match(/^kms_node_worker_failures_total 1$/m);
    expect(metrics.body).to.match(/^kms_node_reencryption_requests_total\{outcome="WORKER_FAILED"\} 1$/m);
  });

  it("answers 503 OVERLOADED with Retry-After when the pool's queue is full, and serves again once it drains", async function () {
    const channel = new BroadcastChannel(TEST_CHANNEL);
    let started = 0;
    channel.onmessage = (event) => {
      if ((event as MessageEvent).data === "started") started++;
    };
    try {
      const { app: node } = await start({
        workers: 1,
        workerTaskModule: TEST_TASK,
        limits: { maxQueuedRequests: 1, retryAfterSeconds: 3 },
      });
      // The one worker holds the first request; the second waits in the queue, which is then full.
      const held = reencrypt(node, [HOLD_CAPSULE, capsuleHex]);
      await until("the worker holds the first request", () => started === 1);
      const queued = reencrypt(node, [capsuleHex]);
      await until("the second request waits in the queue", async () => {
        const metrics = await node.inject({ method: "GET", url: "/metrics" });
        return /^kms_node_reencryption_queue 1$/m.test(metrics.body);
      });
      const refused = await reencrypt(node, [capsuleHex]);
      expect(refused.status).to.equal(503);
      expect(refused.body.code).to.equal("OVERLOADED");
      expect(refused.headers["retry-after"]).to.equal("3");
      channel.postMessage("release");
      expect((await held).status).to.equal(200);
      expect((await queued).status).to.equal(200);
      expect((await reencrypt(node, [capsuleHex])).status).to.equal(200);
    } finally {
      channel.close();
    }
  });

  it("stops its workers when closed, and refuses work after", async function () {
    const pool = new ReencryptionPool({ workers: 2, maxQueue: 4, attestation: testIdentity().attestation });
    await pool.ready();
    expect(pool.threads).to.equal(2);
    await pool.close();
    expect(pool.threads).to.equal(0);
    let failed: unknown;
    await pool
      .run({ kfrag: { id: "x", ...bytesOf(policy.stored) }, capsules: [capsuleHex], cheat: false })
      .catch((e: unknown) => (failed = e));
    expect((failed as Error).name).to.equal("PoolWorkerError");
  });

  it("refuses an operator key that is not the operator's", async function () {
    const store = (open.store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-pool-"))));
    const policies: PolicyView = { getPolicy: async () => undefined, currentPeriod: async () => 1n };
    expect(() =>
      buildNodeServer({
        identity: { ...testIdentity(), operatorKey: Wallet.createRandom().privateKey },
        store,
        policies,
        workers: 0,
      }),
    ).to.throw(OperatorKeyError, /not of the operator/);
  });
});

function bytesOf(stored: { kfrag: string; delegatingKey: string; receivingKey: string; verifyingKey: string }) {
  return {
    kfrag: getBytes(stored.kfrag),
    delegatingKey: getBytes(stored.delegatingKey),
    receivingKey: getBytes(stored.receivingKey),
    verifyingKey: getBytes(stored.verifyingKey),
  };
}

describe("AttestationSigner", function () {
  it("signs byte for byte as ethers' signTypedData, over the same EIP-712 digest", async function () {
    const wallet = Wallet.createRandom();
    for (let i = 0; i < 16; i++) {
      const domain = { chainId: BigInt(1 + i * 977), adjudicator: hexlify(randomBytes(20)) };
      const signer = new AttestationSigner(wallet.privateKey, domain);
      const attested = {
        capsule: randomBytes(98),
        cfrag: randomBytes(359),
        delegatingKey: randomBytes(33),
        receivingKey: randomBytes(33),
        verifyingKey: randomBytes(33),
      };
      const ours = signer.sign(attested);
      expect(hexlify(ours)).to.equal(hexlify(await signAttestation(wallet, attested, domain)));
      expect(recoverOperator({ ...attested, nodeSignature: ours }, domain)).to.equal(wallet.address);
      expect(signer.address).to.equal(wallet.address);
      expect(attestationDigest(attested, domain)).to.match(/^0x[0-9a-f]{64}$/);
    }
  });

  it("refuses keys that are not secp256k1 secret keys", function () {
    const domain = { chainId: 1n, adjudicator: "0x" + "33".repeat(20) };
    for (const bad of ["0x", "0x" + "00".repeat(32), "0x" + "ff".repeat(32), "0x1234", "nothex"]) {
      expect(() => new AttestationSigner(bad, domain)).to.throw(OperatorKeyError);
    }
  });
});
