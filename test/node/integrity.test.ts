// A node whose store lost a kfrag it acknowledged says so: in its status (`lostKFrags`) and in its log, at
// start-up, instead of answering 404 later without a word.
import { expect } from "chai";
import hre from "hardhat";
import { randomBytes } from "@noble/hashes/utils";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { loadDeployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import { startNode, type RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { grant } from "../../src/client/alice";
import type { NodeStatus } from "../../src/network/protocol";
import { SecretKey } from "../../src/umbral";
import { damageWriteAheadLog } from "../support/leveldb";

const KMS = 10n ** 18n;

describe("a lost kfrag is detected", function () {
  this.timeout(120_000);
  let running: RunningNode | undefined;
  after(async function () {
    await running?.stop();
  });

  it("a node restarted on a damaged store reports the lost kfrag in its status and logs an error", async function () {
    const deployment = await loadDeployment(hre);
    const [deployer, staker, operator, alice] = await hre.ethers.getSigners();
    await stakeAndBond(deployment, deployer, { staker, operator, stake: 100_000n * KMS, lockPeriods: 60n });
    const dataDir = path.join(tmpdir(), `kms-integrity-${Date.now()}`);
    const lines: string[] = [];
    // Fastify's own logger, writing JSON lines to the test.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const logger = { level: "info", stream };
    const start = () =>
      startNode({
        escrow: deployment.escrow,
        policyManager: deployment.policyManager,
        nodeDirectory: deployment.nodeDirectory,
        operator,
        dataDir,
        commitIntervalMs: 3_600_000,
        policyCacheMs: 0,
        logger,
      });
    running = await start();
    await (await deployment.token.transfer(alice.address, 100_000n * KMS)).wait();
    const policy = await grant(deployment, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: SecretKey.random().publicKey(),
      threshold: 1,
      shares: 1,
      periods: 5n,
      feeRate: (await deployment.policyManager.feeRateRange())[0] || 1n,
    });
    await running.stop();

    damageWriteAheadLog(path.join(dataDir, "kfrags"));
    lines.length = 0;
    running = await start();
    const status = (await (await fetch(`${running.url}/v1/status`)).json()) as NodeStatus;
    expect(status.kfrags).to.equal(0);
    expect(status.lostKFrags).to.equal(1);
    const alarm = lines.map((l) => JSON.parse(l) as { level: number; msg: string; policyIds?: string[] });
    const error = alarm.find((l) => l.level >= 50 && /KFRAG STORE DAMAGED/.test(l.msg));
    expect(error?.policyIds).to.deep.equal([policy.policyId.toLowerCase()]);
  });
});
