// `npm run demo:stream`: an encrypted stream on an in-process chain, no set-up needed (docs/streams.md).
//
//   1. three nodes lock stake, bond operators and start on loopback
//   2. Alice grants Bob a 2-of-3 subscription (a policy paid per period)
//   3. the publisher (Enrico's role, only the policy's public key) seals a 12 s video into segments, a new
//      capsule every 4 segments, served by a plain static HTTP server
//   4. Bob plays it: cfrags once per epoch, plaintext as it downloads
//   5. Alice revokes mid-stream: the nodes refuse the next epoch; what Bob opened stays open
import { randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { parseKms } from "../src/units";
import { localNodeSpecs, startStakedNodes } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { revokePolicy } from "../src/policy";
import { SecretKey } from "../src/umbral";
import { EpochRefusedError, httpSource, publishStream, StreamReader } from "../src/stream";
import { folderSink } from "../src/stream/node";
import { serveStreamFolder } from "../src/stream/server";

const VIDEO = path.join(__dirname, "..", "test", "fixtures", "stream-12s.webm");
const SEGMENT_SIZE = 8 * 1024;
const EPOCH_SEGMENTS = 4;

function step(title: string): void {
  console.log(`\n== ${title}`);
}

async function main(): Promise<void> {
  const contracts = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const [deployer] = signers;
  const alice = signers[7];
  const work = mkdtempSync(path.join(tmpdir(), "kms-demo-stream-"));

  step("1. three nodes stake, bond operators and start on loopback");
  const nodes = await startStakedNodes(contracts, deployer, localNodeSpecs(signers, { stake: parseKms("100000") }));
  nodes.forEach((node, i) => console.log(`node ${i + 1}: staker ${node.staker}, ${node.url}`));
  const server = await serveStreamFolder(work);

  try {
    step("2. Alice grants Bob a 2-of-3 subscription for 10 periods");
    await (await contracts.token.transfer(alice.address, parseKms("1000"))).wait();
    const bob = SecretKey.random();
    const policy = await grant(contracts, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods: 10n,
      feeRate: parseKms("0.01"),
    });
    console.log(`policy ${policy.policyId}, periods ${policy.startPeriod}–${policy.endPeriod}`);

    step(
      `3. the publisher seals a 12 s WebM video: ${SEGMENT_SIZE / 1024} KiB segments, a capsule every ${EPOCH_SEGMENTS}`,
    );
    const manifest = await publishStream(createReadStream(VIDEO), folderSink(work), {
      policyId: policy.policyId,
      policyKey: policy.delegatingKey,
      segmentSize: SEGMENT_SIZE,
      epochSegments: EPOCH_SEGMENTS,
      contentType: 'video/webm; codecs="vp9"',
    });
    const url = `${server.url}manifest.json`;
    console.log(`${manifest.segments.length} segments in ${manifest.epochs.length} epochs, served at ${url}`);

    step("4. Bob plays it; 5. Alice revokes once Bob is in epoch 1");
    const reader = new StreamReader(policy, bob, httpSource(url), {
      onEpoch: (epoch, ms) => console.log(`  epoch ${epoch} opened: cfrags from 2 of 3 nodes in ${ms} ms`),
    });
    const video = readFileSync(VIDEO);
    let played = 0;
    try {
      for await (const segment of reader.play()) {
        const expected = video.subarray(played, played + segment.plaintext.length);
        if (!expected.equals(Buffer.from(segment.plaintext))) throw new Error(`segment ${segment.index} differs`);
        played += segment.plaintext.length;
        if (segment.index === EPOCH_SEGMENTS + 1) {
          await revokePolicy(contracts.policyManager, alice, policy.policyId);
          console.log(`  Alice revoked the policy after segment ${segment.index} (epoch ${segment.epoch})`);
        }
      }
      throw new Error("the stream played to its end after the revocation");
    } catch (error) {
      if (!(error instanceof EpochRefusedError)) throw error;
      console.log(`  refused: ${error.message}`);
    }
    console.log(`Bob played ${played} of ${video.length} bytes, byte for byte the video, until the revocation`);
    const again = await reader.segment(0);
    console.log(
      `segment 0 still opens from the kept epoch key (${again.plaintext.length} bytes, no node asked): ` +
        `revocation ends new epochs, not the ones already opened`,
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
});
