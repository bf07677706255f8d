// `npm run bench:network`: how many re-encryption requests one node serves per second on loopback, and
// Bob's retrieve+decrypt latency for a 3-of-5 policy. Writes docs/bench-network.md.
//
// Traffic goes only to 127.0.0.1, to nodes this script starts, in a bounded number of requests.
import { cpus, totalmem } from "node:os";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { parseKms } from "../src/units";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptBytes } from "../src/client/enrico";
import { decryptBytes } from "../src/client/bob-node";
import { publicKeyOf } from "../src/client/grant";
import { encrypt, SecretKey } from "../src/umbral";

/** The marker scripts/bench-flood.ts writes its section after (the same string there). */
const FLOOD_SECTION = "<!-- bench-flood: scripts/bench-flood.ts writes from here to the end -->";

const REQUESTS = 600;
const CONCURRENCY = 16;
const LATENCY_RUNS = 40;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const contracts = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const specs: LocalNodeSpec[] = [1, 2, 3, 4, 5].map((i) => ({
    staker: signers[i],
    operator: signers[5 + i],
    stake: parseKms("100000"),
    lockPeriods: 60n,
  }));
  for (const spec of specs) await stakeAndBond(contracts, signers[0], spec);
  // The daemon's default policy cache (2 s): what a deployed node does.
  const nodes = await startLocalNodes(contracts, specs, { policyCacheMs: 2000 });
  try {
    await (await contracts.token.transfer(signers[11].address, parseKms("1000"))).wait();
    const bob = SecretKey.random();
    const policy = await grant(contracts, {
      owner: signers[11],
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 3,
      shares: 5,
      periods: 10n,
      feeRate: parseKms("0.01"),
    });
    const policyKey = publicKeyOf(policy.delegatingKey);

    // 1. Throughput: one capsule per request, CONCURRENCY requests in flight, REQUESTS in all, to one node.
    const [capsule] = encrypt(policyKey, new Uint8Array(32));
    const body = JSON.stringify({ capsules: [hre.ethers.hexlify(capsule.toBytes())] });
    const url = `${nodes[0].url}/v1/policies/${policy.policyId}/reencrypt`;
    let sent = 0;
    let failed = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS) {
          sent++;
          const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
          if (response.status !== 200) failed++;
          await response.arrayBuffer();
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rps = REQUESTS / seconds;
    console.log(
      `one node: ${REQUESTS} re-encryptions in ${seconds.toFixed(2)} s = ${rps.toFixed(0)} req/s (${failed} failed)`,
    );

    // 2. Latency: Bob retrieves 3-of-5 and decrypts a 1 KiB sealed message, one at a time.
    const sealed = await encryptBytes(policyKey, randomBytes(1024));
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await decryptBytes(policy, bob, sealed);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const median = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    console.log(`Bob 3-of-5 retrieve+decrypt (1 KiB): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);

    const machine = `${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const doc = [
      "# Network benchmark",
      "",
      `Measured by \`npm run bench:network\` (scripts/bench-network.ts) on ${machine}. Nodes, chain (Hardhat's`,
      "in-process EVM) and client share one process and the loopback interface, so these are upper bounds for",
      "the node software, not for a network; a node checks the policy on-chain at most every 2 s (its cache).",
      "",
      "| measure | result |",
      "| --- | ---: |",
      `| re-encryption requests one node serves (1 capsule each, ${CONCURRENCY} in flight, ${REQUESTS} requests) | ${rps.toFixed(0)} req/s |`,
      `| Bob retrieve + verify + decrypt, 3-of-5, 1 KiB (median of ${LATENCY_RUNS}) | ${median.toFixed(1)} ms |`,
      `| the same, 95th percentile | ${p95.toFixed(1)} ms |`,
      "",
      "Each re-encryption includes the node's cfrag self-check and the operator's ECDSA signature of the",
      "attestation; Bob verifies every cfrag before combining them.",
      "",
    ].join("\n");
    // Keep the flood section that scripts/bench-flood.ts writes at the end.
    const file = path.join(hre.config.paths.root, "docs", "bench-network.md");
    const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
    const flood = previous.indexOf(FLOOD_SECTION);
    writeFileSync(file, flood >= 0 ? doc + "\n" + previous.slice(flood) : doc);
    console.log("wrote docs/bench-network.md");
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
