// `kms node-doctor`'s checks (src/node/doctor.ts) against a real node on the in-process chain: all ok for a
// running node except the clock (the tests' chain is pinned to 2026, KMS_TEST_START), what to do for a node
// that stopped answering and for an operator nobody bonded. And the node's log formats (src/node/logging.ts).
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import { startNode, type RunningNode } from "../../src/node/daemon";
import { formatDoctor, runDoctor } from "../../src/node/doctor";
import { LogLevelError, nodeLogger } from "../../src/node/logging";
import { buildNodeServer } from "../../src/node/server";
import { KFragStore } from "../../src/node/store";
import { SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;

describe("node-doctor", function () {
  this.timeout(120_000);
  let deployment: Deployment;
  let node: RunningNode;

  before(async function () {
    deployment = await loadDeployment(hre);
    const [deployer, staker, operator] = await hre.ethers.getSigners();
    await stakeAndBond(deployment, deployer, { staker, operator, stake: 100_000n * KMS, lockPeriods: 30n });
    node = await startNode({
      ...deployment,
      operator,
      dataDir: mkdtempSync(path.join(tmpdir(), "kms-doctor-")),
      commitIntervalMs: 3_600_000,
      statusIntervalMs: 3_600_000,
      policyCacheMs: 0,
    });
  });

  after(async function () {
    await node?.stop();
  });

  const doctor = (operator: string, periods = 7) =>
    runDoctor({ ...deployment, provider: hre.ethers.provider, operator, periods, timeoutMs: 2_000 });

  it("passes every check of a running node but the clock of a chain pinned in the past", async function () {
    const checks = await doctor(node.operator);
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    expect(checks.map((c) => c.name)).to.deep.equal([
      "chain",
      "clock",
      "bond",
      "lock",
      "gas",
      "commitment",
      "reachable",
      "key",
      "node's chain",
    ]);
    const skew = (await hre.ethers.provider.getBlock("latest"))!.timestamp - Date.now() / 1000;
    expect(failed).to.deep.equal(Math.abs(skew) > 300 ? ["clock"] : []);
    const lines = formatDoctor(checks);
    expect(lines.every((l) => /^(ok {2}|FAIL) {2}\S/.test(l))).to.equal(true);
    expect(lines.find((l) => l.includes(" key "))).to.include(`serves the announced key`);
  });

  it("says what to do when the lock is too short for the periods asked, and when the node does not answer", async function () {
    const lock = (await doctor(node.operator, 40)).find((c) => c.name === "lock")!;
    expect(lock.ok).to.equal(false);
    expect(lock.detail).to.match(/does not cover commitments through period .*: prolong it \(kms lock\)/);

    await node.stop();
    const reachable = (await doctor(node.operator)).find((c) => c.name === "reachable")!;
    expect(reachable.ok).to.equal(false);
    expect(reachable.detail).to.match(/does not answer .*is the node up/);
  });

  it("stops at the bond for an operator nobody bonded, saying how to bond it", async function () {
    const [, , , , , , , , , stranger] = await hre.ethers.getSigners();
    const checks = await doctor(stranger.address);
    expect(checks.at(-1)).to.deep.include({ name: "bond", ok: false });
    expect(checks.at(-1)!.detail).to.match(/no staker's confirmed operator: bond it \(kms bond-operator\)/);
  });
});

describe("node log formats", function () {
  /** One request's log through `logger`, as text. */
  async function logged(logger: ReturnType<typeof nodeLogger>, sink: PassThrough): Promise<string> {
    let text = "";
    sink.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-log-")) + "/kfrags");
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
      policies: { getPolicy: async () => undefined, currentPeriod: async () => 1n },
      logger,
    });
    await app.inject({ method: "GET", url: "/v1/status" });
    await app.close();
    await store.close();
    return text;
  }

  it("writes human-readable lines by default and JSON lines when asked", async function () {
    const human = new PassThrough();
    const text = await logged(nodeLogger("info", { destination: human, colorize: false }), human);
    expect(text).to.match(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: incoming request/m);
    expect(text).to.not.match(/^\{/m);

    const machine = new PassThrough();
    const json = await logged(nodeLogger("info", { json: true, destination: machine }), machine);
    const lines = json
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.map((l) => l.msg)).to.include("incoming request");
  });

  it("honours the level, and refuses one pino does not know", async function () {
    const quiet = new PassThrough();
    expect(await logged(nodeLogger("warn", { json: true, destination: quiet }), quiet)).to.equal("");
    expect(() => nodeLogger("verbose")).to.throw(LogLevelError, /--log-level must be one of trace, debug, info/);
  });
});
