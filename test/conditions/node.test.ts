// The node's conditions checks that need a fake chain: a conditional policy on a node without a chain reader,
// a node holding a newer set than its cached chain read, an RPC that fails during evaluation (503 with
// Retry-After, never a serve), the refusal code as the metrics' outcome, and the set kept by the store.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hexlify } from "ethers";
import { buildNodeServer, type NodeConditionsOptions } from "../../src/node/server";
import { KFragStore } from "../../src/node/store";
import type { PolicyView } from "../../src/network/chain";
import { NodeMetrics } from "../../src/node/metrics";
import { conditionsHash, type ChainReader, type SignedConditionSet } from "../../src/conditions";
import { encrypt } from "../../src/umbral";
import { closedAfterEach, heldPolicy, TEST_STAKER, testIdentity } from "../node/fixture";
import { set, timeAfter } from "./fixtures";

const POLICY_ID = "0x" + "cd".repeat(16);
const SET: SignedConditionSet = {
  policyId: POLICY_ID,
  version: 2,
  conditions: set(timeAfter(1_000)),
  ownerSignature: "0x" + "00".repeat(65),
};

describe("conditions at the node (fake chain)", function () {
  const open = closedAfterEach();
  /** Closes the server and store of one start within a test (the afterEach closes the last). */
  async function closeOpen() {
    await open.app?.close();
    await open.store?.close();
    open.app = open.store = undefined;
  }

  async function start(committed: { version: number; hash: string }, conditions?: NodeConditionsOptions) {
    const held = heldPolicy(POLICY_ID);
    const store = (open.store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-cond-"))));
    await store.put({ ...held.stored, conditions: SET });
    const policies: PolicyView = {
      getPolicy: async () => ({
        owner: TEST_STAKER,
        nodes: [TEST_STAKER],
        endPeriod: 1000n,
        revoked: false,
        conditions: committed,
      }),
      currentPeriod: async () => 1n,
    };
    const metrics = new NodeMetrics();
    const app = (open.app = buildNodeServer({
      identity: testIdentity(),
      store,
      policies,
      workers: 0,
      limits: { refusalDelayMs: 0 },
      metrics,
      conditions,
    }));
    await app.ready();
    const capsule = hexlify(encrypt(held.alice.publicKey(), new Uint8Array(8))[0].toBytes());
    const ask = async () => {
      const answer = await app.inject({
        method: "POST",
        url: `/v1/policies/${POLICY_ID}/reencrypt`,
        payload: { capsules: [capsule] },
      });
      return { status: answer.statusCode, retryAfter: answer.headers["retry-after"], body: answer.json() };
    };
    return { ask, store, metrics };
  }

  const committed = { version: 2, hash: conditionsHash(SET.conditions) };
  const reader = (fail?: Error): ChainReader => ({
    chainId: 31337n,
    latestBlock: async () => {
      if (fail) throw fail;
      return { number: 5, timestamp: 2_000 };
    },
    call: async () => "0x",
    code: async () => "0x",
  });
  const options = (r: ChainReader): NodeConditionsOptions => ({ reader: r, publicUrl: () => "http://127.0.0.1:1" });

  it("serves when the held set is the committed one and holds, and keeps the set with the kfrag", async function () {
    const { ask, store } = await start(committed, options(reader()));
    expect((await ask()).status).to.equal(200);
    expect((await store.get(POLICY_ID))?.conditions).to.deep.equal(SET);
  });

  it("answers 503 CONDITION_UNAVAILABLE without a chain reader, and when the RPC fails: never serves", async function () {
    for (const conditions of [
      undefined,
      options(reader(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))),
    ]) {
      const { ask, metrics } = await start(committed, conditions);
      const answer = await ask();
      expect([answer.status, answer.body.code]).to.deep.equal([503, "CONDITION_UNAVAILABLE"]);
      expect(Number(answer.retryAfter)).to.be.above(0);
      expect(await metrics.exposition().then((e) => e.body)).to.match(/outcome="CONDITION_UNAVAILABLE"/);
      await closeOpen();
    }
  });

  it("refuses a superseded set (403) and asks to retry when it holds a newer set than its chain read (503)", async function () {
    const behind = await start({ version: 3, hash: committed.hash }, options(reader()));
    const refused = await behind.ask();
    expect([refused.status, refused.body.code]).to.deep.equal([403, "CONDITIONS_OUTDATED"]);
    expect(refused.body.error).to.match(
      /commits on-chain to access conditions version 3, but this node holds version 2/,
    );
    await closeOpen();
    const ahead = await start({ version: 1, hash: committed.hash }, options(reader()));
    const later = await ahead.ask();
    expect([later.status, later.body.code, later.retryAfter]).to.deep.equal([503, "CONDITIONS_OUTDATED", "5"]);
    await closeOpen();
    const otherHash = await start({ version: 2, hash: "0x" + "11".repeat(32) }, options(reader()));
    expect((await otherHash.ask()).body.code).to.equal("CONDITIONS_OUTDATED");
  });

  it("the store keeps a newer set only, and none for a policy it holds no kfrag of", async function () {
    const { store } = await start(committed, options(reader()));
    expect(await store.putConditions(POLICY_ID, { ...SET, version: 1 })).to.deep.equal({
      outcome: "stale",
      heldVersion: 2,
    });
    expect(await store.putConditions(POLICY_ID, SET)).to.deep.equal({ outcome: "unchanged" });
    expect(await store.putConditions(POLICY_ID, { ...SET, version: 3 })).to.deep.equal({ outcome: "stored" });
    expect(await store.putConditions("0x" + "ee".repeat(16), SET)).to.deep.equal({ outcome: "no-kfrag" });
  });
});
