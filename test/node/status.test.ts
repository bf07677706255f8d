// What a node says about itself: `GET /v1/status` (every field, checked against the chain), the HTML page
// `GET /status` (every field found in it, no external asset), `GET /metrics` (counters that move), a chain
// that cannot be read (503 with the reason, logged once as "chain unreachable", never 500), and the watchdog
// (a lock that no longer covers the next period, or a replaced operator, stops commitments and new kfrags).
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "@noble/hashes/utils";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { formatEther } from "ethers";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import { bondOperator, confirmOperator } from "../../src/staking";
import { startNode, type RunningNode } from "../../src/node/daemon";
import { buildNodeServer } from "../../src/node/server";
import { KFragStore } from "../../src/node/store";
import { displayValue, flattenStatus } from "../../src/node/page";
import { AliceKeys } from "../../src/client/keys";
import { grant } from "../../src/client/alice";
import type { NodeStatus } from "../../src/network/protocol";
import type { PolicyView } from "../../src/network/chain";
import { SecretKey } from "../../src/umbral";
import { version } from "../../package.json";

const KMS = 10n ** 18n;
const POLICY = "0x" + "ab".repeat(16);

/** A logger stream that keeps the node's JSON log lines. */
function logLines() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: { level: "info", stream } };
}

/** One value of a Prometheus exposition: `name{labels} value`, or undefined if the series is absent. */
function metric(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("node status, status page and metrics", function () {
  this.timeout(120_000);
  let deployment: Deployment;
  let node: RunningNode;
  const log = logLines();

  before(async function () {
    deployment = await loadDeployment(hre);
    const [deployer, staker, operator, alice] = await hre.ethers.getSigners();
    await stakeAndBond(deployment, deployer, { staker, operator, stake: 100_000n * KMS, lockPeriods: 30n });
    node = await startNode({
      ...deployment,
      operator,
      dataDir: mkdtempSync(path.join(tmpdir(), "kms-status-")),
      commitIntervalMs: 3_600_000,
      statusIntervalMs: 3_600_000,
      policyCacheMs: 0,
      logger: log.logger,
    });
    await (await deployment.token.transfer(alice.address, 10_000n * KMS)).wait();
    await grant(deployment, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: SecretKey.random().publicKey(),
      threshold: 1,
      shares: 1,
      periods: 5n,
      feeRate: (await deployment.policyManager.feeRateRange())[0],
    });
    // One refused re-encryption, to count.
    const refused = await fetch(`${node.url}/v1/policies/${POLICY}/reencrypt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capsules: ["0x00"] }),
    });
    expect(refused.status).to.equal(404);
    await node.monitor.refresh();
  });

  after(async function () {
    await node?.stop();
  });

  const status = async () => (await (await fetch(`${node.url}/v1/status`)).json()) as NodeStatus;

  it("GET /v1/status reports the node's standing as the chain has it", async function () {
    const s = await status();
    const { escrow, nodeDirectory } = deployment;
    const info = await escrow.getStakerInfo(node.staker);
    const current = Number(await escrow.getCurrentPeriod());
    const record = await nodeDirectory.nodeOf(node.staker);
    const block = await hre.ethers.provider.getBlock("latest");

    expect(s.version).to.equal(version);
    expect(s.uptimeSeconds).to.be.at.least(0);
    expect(Date.parse(s.startedAt!)).to.be.at.most(Date.now());
    expect(s.url).to.equal(node.url);
    expect([s.staker, s.operator, s.chainId]).to.deep.equal([node.staker, node.operator, "31337"]);
    expect(s.chain).to.include({ reachable: true, error: null, latestBlock: block!.number });
    expect(s.currentPeriod).to.equal(current);
    expect(s.periodSeconds).to.equal(Number(await escrow.periodDuration()));
    expect(s.commitments).to.deep.equal({
      lastCommittedPeriod: current + 1,
      nextCommittedPeriod: current + 1,
      missed: 0,
      sent: 1,
      failed: 0,
    });
    expect(s.stake).to.deep.equal({
      stakedKms: "100000.0",
      lockedKms: "100000.0",
      lockEndPeriod: Number(info.unlockPeriod),
    });
    expect(s.rewards).to.deep.equal({ pendingRewardKms: "0.0", pendingFeesKms: "0.0" });
    expect(s.operatorBalance!.eth).to.equal(formatEther(await hre.ethers.provider.getBalance(node.operator)));
    expect(s.operatorBalance!.commitmentsPaidFor).to.be.greaterThan(1000);
    expect([s.kfrags, s.livePolicies, s.deletedKFrags, s.lostKFrags]).to.deep.equal([1, 1, 0, 0]);
    expect(s.requests).to.deep.equal({ served: 1, failed: 1 });
    expect(s.announcement).to.deep.equal({
      url: record.url,
      encryptingKey: record.encryptingKey,
      urlMatches: true,
      keyMatches: true,
    });
    expect([s.acceptingKFrags, s.notAcceptingReason]).to.deep.equal([true, null]);
  });

  it("GET /status shows every field of the JSON status, in a page with no external asset", async function () {
    const response = await fetch(`${node.url}/status`);
    expect(response.headers.get("content-type")).to.match(/^text\/html/);
    const page = await response.text();
    const json = await status();
    const rows = new Map(
      [...page.matchAll(/<tr data-field="([^"]+)"[^>]*><th>[^<]+<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const fields = flattenStatus(json);
    expect(fields.length).to.be.greaterThan(35);
    for (const [field, value] of fields) {
      expect(rows.has(field), `field ${field} on the page`).to.equal(true);
      if (field !== "uptimeSeconds") expect(rows.get(field), field).to.equal(displayValue(value));
    }
    expect(rows.size).to.equal(fields.length);
    expect(page).to.not.match(/<script|<link|<img|src=|url\(|@import/i);
    expect(page).to.include('data-field="healthy">healthy<');
  });

  it("GET /metrics exports counters that moved, by Prometheus conventions", async function () {
    const response = await fetch(`${node.url}/metrics`);
    expect(response.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(metric(text, 'kms_node_reencryption_requests_total{outcome="UNKNOWN_POLICY"}')).to.equal(1);
    expect(metric(text, "kms_node_reencryption_duration_seconds_count")).to.equal(1);
    expect(metric(text, 'kms_node_kfrag_deliveries_total{outcome="stored"}')).to.equal(1);
    expect(metric(text, "kms_node_commitments_sent_total")).to.equal(1);
    expect(metric(text, "kms_node_commitments_confirmed_total")).to.equal(1);
    expect(metric(text, "kms_node_commitments_failed_total")).to.equal(0);
    expect(metric(text, "kms_node_kfrags")).to.equal(1);
    expect(metric(text, "kms_node_chain_reachable")).to.equal(1);
    expect(metric(text, "kms_node_operator_balance_ether")).to.be.greaterThan(0);
    expect(metric(text, "kms_node_process_resident_memory_bytes")).to.be.greaterThan(0);
    expect(text).to.match(/# TYPE kms_node_chain_errors_total counter/);
  });

  it("stops committing and refuses new kfrags once its lock no longer covers the next period", async function () {
    const { escrow } = deployment;
    const info = await escrow.getStakerInfo(node.staker);
    const window = await escrow.minOperatorPeriods();
    // The last period the lock lets it commit from is unlock - window - 2; go one past it.
    const target = info.unlockPeriod - window - 1n;
    const period = await escrow.periodDuration();
    await time.increaseTo(target * period + 1n);
    const nonce = await hre.ethers.provider.getTransactionCount(node.operator);
    expect(await node.commitIfNeeded()).to.equal(false);
    expect(await hre.ethers.provider.getTransactionCount(node.operator)).to.equal(nonce);
    const s = await status();
    expect(s.acceptingKFrags).to.equal(false);
    expect(s.notAcceptingReason).to.match(/lock .* no longer covers a commitment to period/);
    expect(log.lines.some((l) => l.level === 50 && /not committing and accepting no new kfrags/.test(l.msg))).to.equal(
      true,
    );
    const delivery = await fetch(`${node.url}/v1/policies/${POLICY}/kfrag`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capsule: "0x00", ciphertext: "0x00", version: 1, ownerSignature: "0x" + "11".repeat(65) }),
    });
    expect(delivery.status).to.equal(503);
    expect(((await delivery.json()) as { code: string }).code).to.equal("NOT_ACCEPTING_KFRAGS");
  });

  it("says so, and keeps not committing, once its operator is replaced", async function () {
    const { escrow } = deployment;
    const signers = await hre.ethers.getSigners();
    const staker = signers[1];
    const replacement = signers[9];
    // More than minOperatorPeriods have passed since the bond (the test above moved the clock): it may change.
    await bondOperator(escrow, staker, replacement.address);
    await confirmOperator(escrow, replacement, staker.address);
    expect(await node.commitIfNeeded()).to.equal(false);
    const s = await status();
    expect(s.acceptingKFrags).to.equal(false);
    expect(s.notAcceptingReason).to.equal(`operator ${node.operator} is no longer bonded to staker ${node.staker}`);
    expect(s.commitments!.failed).to.equal(0);
  });
});

describe("a node whose chain cannot be read", function () {
  this.timeout(60_000);

  it("answers 503 CHAIN_UNREACHABLE with the reason (never 500) and logs the outage once, and its end", async function () {
    let down = true;
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
    const policies: PolicyView = {
      getPolicy: async () => {
        if (down) throw refused;
        return undefined;
      },
      currentPeriod: async () => {
        if (down) throw refused;
        return 1n;
      },
    };
    const store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-unreachable-")) + "/kfrags");
    const log = logLines();
    const app = buildNodeServer({
      identity: {
        staker: "0x" + "01".repeat(20),
        operator: "0x" + "02".repeat(20),
        chainId: 31337n,
        policyManager: "0x" + "03".repeat(20),
        encryptingKey: SecretKey.random(),
        operatorSigner: { signMessage: async () => "0x", signTypedData: async () => "0x" },
        attestation: { chainId: 31337n, adjudicator: "0x" + "04".repeat(20) },
      },
      store,
      policies,
      logger: log.logger,
    });
    try {
      const ask = () =>
        app.inject({
          method: "POST",
          url: `/v1/policies/${POLICY}/reencrypt`,
          payload: { capsules: ["0x00"] },
        });
      for (let i = 0; i < 3; i++) {
        const answer = await ask();
        expect(answer.statusCode).to.equal(503);
        expect(answer.headers["retry-after"]).to.equal("5");
        const body = answer.json() as { code: string; error: string };
        expect(body.code).to.equal("CHAIN_UNREACHABLE");
        expect(body.error).to.match(/cannot reach its Ethereum RPC .*ECONNREFUSED/);
      }
      const outage = log.lines.filter((l) => /chain unreachable/.test(l.msg));
      expect(outage).to.have.length(1);
      expect(outage[0].level).to.equal(50);
      expect((await app.inject({ method: "GET", url: "/v1/status" })).statusCode).to.equal(200);

      down = false;
      expect((await ask()).statusCode).to.equal(404);
      expect(log.lines.filter((l) => /chain reachable again/.test(l.msg))).to.have.length(1);
      const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metric(metrics, 'kms_node_reencryption_requests_total{outcome="CHAIN_UNREACHABLE"}')).to.equal(3);
      expect(metric(metrics, 'kms_node_chain_errors_total{operation="policy read"}')).to.equal(3);
      expect(metric(metrics, "kms_node_chain_reachable")).to.equal(1);
      expect(log.lines.some((l) => l.level >= 50 && /internal error/.test(l.msg))).to.equal(false);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
