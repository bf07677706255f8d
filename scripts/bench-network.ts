// `npm run bench:network`: what one node serves per second, Bob's 3-of-5 retrieve + verify + decrypt latency,
// and what a node does under a 10× overload. Writes docs/bench-network.md (keeping the flood section that
// scripts/bench-flood.ts writes at its end).
//
// The deployed configuration, as real processes: the chain (Hardhat's in-process EVM, deployed with the
// Ignition module) runs here and is served over JSON-RPC on a free loopback port; every node runs in its own
// process (scripts/bench-node-process.ts: the daemon with default limits, the operator key local, workers one
// per core unless said); the load generator runs in another process (scripts/flood-client.ts); Bob runs here.
// Traffic goes only to 127.0.0.1, to processes this script starts, in a bounded number of requests; every
// process is stopped at the end, on failure too.
import { spawn, type ChildProcess } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import net from "node:net";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { loadDeployment } from "../src/deployment";
import { parseKms } from "../src/units";
import { stakeAndBond, type LocalNodeSpec } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptBytes } from "../src/client/enrico";
import { decryptBytes } from "../src/client/bob-node";
import { publicKeyOf } from "../src/client/grant";
import * as W from "@nucypher/umbral-pre";
import {
  Capsule,
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  reencrypt,
  SecretKey,
  Signer as UmbralSigner,
} from "../src/umbral";
import { AttestationSigner, attestedKeyHashes } from "../src/node/attestation";
import { configuredKeyOf, type ConfiguredAccounts } from "../src/node/operator-key";
import { defaultWorkerCount } from "../src/node/pool";

/** The marker scripts/bench-flood.ts writes its section after (the same string there). */
const FLOOD_SECTION = "<!-- bench-flood: scripts/bench-flood.ts writes from here to the end -->";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = 32;
const LATENCY_RUNS = 40;
/** Capsules per request in the batched throughput run, and its connections (8 × 16 = half the node's 256 in all). */
const BATCH = 8;
const BATCH_CONCURRENCY = 16;
const OVERLOAD_MS = 10_000;
const OVERLOAD_ADDRESSES = 64;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs scripts/<file> under ts-node in a child process with `env`; resolves with its first stdout line as JSON. */
function child<T>(file: string, env: Record<string, string>, processes: ChildProcess[], keep = false): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, file)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (keep) processes.push(proc);
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.indexOf("\n");
      if (line >= 0 && keep) resolve(JSON.parse(out.slice(0, line)) as T);
    });
    proc.on("error", reject);
    proc.on("exit", (code) => {
      if (!keep && code === 0) resolve(JSON.parse(out) as T);
      else reject(new Error(`${file} exited ${code}`));
    });
  });
}

/** Resident memory (MiB) of process `pid` now, from /proc. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

interface ThroughputResult {
  elapsedMs: number;
  statuses: Record<string, number>;
}
interface OverloadResult {
  sent: number;
  unsent: number;
  elapsedMs: number;
  statuses: Record<string, number>;
  refused: number;
  refusedWithRetryAfter: number;
}

const statusList = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([status, n]) => `${status === "-1" ? "reset" : status}: ${n}`)
    .join(", ");

/** Median CPU time (user + system, ms) per call of `fn` over 7 rounds of `calls` calls, after a warm-up. */
function cpuMs(fn: () => unknown, calls = 100): number {
  for (let i = 0; i < 20; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn();
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / 1000 / calls);
  }
  return rounds.sort((a, b) => a - b)[3];
}

/**
 * What one cfrag costs a node's worker and what Bob's own part of a 3-of-5 retrieval costs, measured in this
 * process (one core), with umbral-pre's WASM doing the same Umbral operations in the same run (its re-encryption
 * has no attestation: the signature is ours alone).
 */
function cryptoFloor() {
  const alice = SecretKey.random();
  const bob = SecretKey.random();
  const signingKey = SecretKey.random();
  const signer = new UmbralSigner(signingKey);
  const kfrags = generateKFrags(alice, bob.publicKey(), signer, 3, 5, true, true);
  const [capsule, ciphertext] = encrypt(alice.publicKey(), new Uint8Array(1024));
  const capsuleBytes = capsule.toBytes();
  const attester = new AttestationSigner("0x" + "42".repeat(32), {
    chainId: 31337n,
    adjudicator: "0x" + "11".repeat(20),
  });
  const keys = {
    delegatingKey: alice.publicKey().toCompressedBytes(),
    receivingKey: bob.publicKey().toCompressedBytes(),
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
  };
  // A worker hashes a kfrag's keys once (src/node/pool-task.ts): so does this.
  const keyHashes = attestedKeyHashes(keys);
  const cfrags = kfrags.slice(0, 3).map((k) => reencrypt(capsule, k));
  const cfragBytes = cfrags.map((c) => c.toBytes());
  const ts = {
    parse: cpuMs(() => Capsule.fromBytes(capsuleBytes)),
    reencrypt: cpuMs(() => reencrypt(capsule, kfrags[0])),
    sign: cpuMs(() =>
      attester.sign({ ...keys, capsule: capsule.toBytesSimple(), cfrag: cfrags[0].toBytesSimple() }, keyHashes),
    ),
    bob: cpuMs(() => {
      const verified = cfragBytes.map((b) =>
        CapsuleFrag.fromBytes(b).verify(capsule, signer.verifyingKey(), alice.publicKey(), bob.publicKey()),
      );
      decryptReencrypted(bob, alice.publicKey(), capsule, verified, ciphertext);
    }, 30),
  };
  const wAlice = W.SecretKey.fromBEBytes(alice.toBEBytes());
  const wBob = W.SecretKey.fromBEBytes(bob.toBEBytes());
  const wSigner = new W.Signer(W.SecretKey.fromBEBytes(signingKey.toBEBytes()));
  const wKFrags = W.generateKFrags(wAlice, wBob.publicKey(), wSigner, 3, 5, true, true);
  const [wCapsule, wCiphertext] = W.encrypt(wAlice.publicKey(), new Uint8Array(1024));
  const wCapsuleBytes = wCapsule.toBytes();
  const wCFragBytes = wKFrags.slice(0, 3).map((k) => W.reencrypt(wCapsule, k).toBytes());
  const wasm = {
    parse: cpuMs(() => W.Capsule.fromBytes(wCapsuleBytes).free()),
    reencrypt: cpuMs(() => W.reencrypt(wCapsule, wKFrags[0]).free()),
    bob: cpuMs(() => {
      const verified = wCFragBytes.map((b) =>
        W.CapsuleFrag.fromBytes(b).verify(wCapsule, wSigner.verifyingKey(), wAlice.publicKey(), wBob.publicKey()),
      );
      W.decryptReencrypted(wBob, wAlice.publicKey(), wCapsule, verified, wCiphertext);
    }, 30),
  };
  return { ts, wasm };
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(1));
  const contracts = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const accounts = hre.config.networks.hardhat.accounts as unknown as ConfiguredAccounts;
  // Six nodes: five for Bob's 3-of-5 policy (workers one per core), a sixth with --workers 0 (the crypto in
  // its main thread, as before the pool) serving a 1-of-1 policy: the same-run peer for throughput.
  const specs: (LocalNodeSpec & { workers?: number })[] = [1, 2, 3, 4, 5, 6].map((i) => ({
    staker: signers[i],
    operator: signers[6 + i],
    stake: parseKms("100000"),
    lockPeriods: 60n,
    workers: i === 6 ? 0 : undefined,
  }));
  for (const spec of specs) await stakeAndBond(contracts, signers[0], spec);

  const rpc = new JsonRpcServer({ hostname: "127.0.0.1", port: await freePort(), provider: hre.network.provider });
  const { port } = await rpc.listen();
  const processes: ChildProcess[] = [];
  const stopAll = async () => {
    await Promise.all(
      processes.map(
        (proc) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once("exit", () => resolve());
            proc.kill("SIGTERM");
            setTimeout(() => proc.kill("SIGKILL"), 10_000).unref();
          }),
      ),
    );
    await rpc.close();
  };
  try {
    const nodes = await Promise.all(
      specs.map(async (spec) =>
        child<{ url: string; pid: number }>(
          "bench-node-process.ts",
          {
            BENCH_NODE: JSON.stringify({
              rpcUrl: `http://127.0.0.1:${port}`,
              escrow: await contracts.escrow.getAddress(),
              policyManager: await contracts.policyManager.getAddress(),
              nodeDirectory: await contracts.nodeDirectory.getAddress(),
              operatorKey: configuredKeyOf(accounts, await spec.operator.getAddress()),
              staker: await spec.staker.getAddress(),
              dataDir: mkdtempSync(path.join(tmpdir(), "kms-bench-node-")),
              deploymentBlock: 0,
              workers: spec.workers,
            }),
          },
          processes,
          true,
        ),
      ),
    );
    console.log(`${nodes.length} node processes up`);

    await (await contracts.token.transfer(signers[13].address, parseKms("1000"))).wait();
    const bob = SecretKey.random();
    const stakers = await Promise.all(specs.map((spec) => spec.staker.getAddress()));
    const policy = await grant(contracts, {
      owner: signers[13],
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 3,
      shares: 5,
      periods: 10n,
      feeRate: parseKms("0.01"),
      nodes: stakers.slice(0, 5),
    });
    const peerPolicy = await grant(contracts, {
      owner: signers[13],
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 1,
      shares: 1,
      periods: 10n,
      feeRate: parseKms("0.01"),
      nodes: [stakers[5]],
    });

    const bodyFor = (delegatingKey: string) =>
      JSON.stringify({
        capsules: [hre.ethers.hexlify(encrypt(publicKeyOf(delegatingKey), new Uint8Array(32))[0].toBytes())],
      });
    const body = bodyFor(policy.delegatingKey);
    const url = `${nodes[0].url}/v1/policies/${policy.policyId}/reencrypt`;

    // 1. Throughput: one capsule per request, CONCURRENCY connections from as many loopback addresses.
    const throughput = async (target: string, requestBody: string, requests: number) => {
      const result = await child<ThroughputResult>(
        "flood-client.ts",
        {
          FLOOD_CONFIG: JSON.stringify({
            mode: "throughput",
            url: target,
            body: requestBody,
            requests,
            concurrency: CONCURRENCY,
          }),
        },
        processes,
      );
      const served = result.statuses["200"] ?? 0;
      return { rps: served / (result.elapsedMs / 1000), result };
    };
    // A first short run warms up the node's JIT and caches, as a node serving for a while is.
    await throughput(url, body, 200);
    const pooled = await throughput(url, body, REQUESTS);
    console.log(`pooled node: ${pooled.rps.toFixed(0)} re-encryptions/s (${statusList(pooled.result.statuses)})`);
    // The same node, BATCH capsules a request: the per-request costs (HTTP, JSON, the policy check, the hop
    // to a worker) shared by BATCH re-encryptions.
    const batchBody = JSON.stringify({
      capsules: Array.from({ length: BATCH }, () =>
        hre.ethers.hexlify(encrypt(publicKeyOf(policy.delegatingKey), new Uint8Array(32))[0].toBytes()),
      ),
    });
    const batched = await child<ThroughputResult>(
      "flood-client.ts",
      {
        FLOOD_CONFIG: JSON.stringify({
          mode: "throughput",
          url,
          body: batchBody,
          requests: Math.ceil(REQUESTS / BATCH),
          concurrency: BATCH_CONCURRENCY,
        }),
      },
      processes,
    );
    const batchedRps = ((batched.statuses["200"] ?? 0) * BATCH) / (batched.elapsedMs / 1000);
    console.log(
      `pooled node, ${BATCH} capsules a request: ${batchedRps.toFixed(0)} re-encryptions/s (${statusList(batched.statuses)})`,
    );
    const peerUrl = `${nodes[5].url}/v1/policies/${peerPolicy.policyId}/reencrypt`;
    const peerBody = bodyFor(peerPolicy.delegatingKey);
    await throughput(peerUrl, peerBody, 100);
    const inThread = await throughput(peerUrl, peerBody, Math.ceil(REQUESTS / 3));
    console.log(`--workers 0: ${inThread.rps.toFixed(0)} re-encryptions/s (${statusList(inThread.result.statuses)})`);

    // 2. Latency: Bob retrieves 3-of-5 and decrypts a 1 KiB sealed message, one at a time.
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), randomBytes(1024));
    await decryptBytes(policy, bob, sealed);
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await decryptBytes(policy, bob, sealed);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const median = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    console.log(`Bob 3-of-5 (1 KiB): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
    const floor = cryptoFloor();
    const perCfrag = floor.ts.parse + floor.ts.reencrypt + floor.ts.sign;
    const cores = cpus().length;
    console.log(
      `crypto per cfrag ${perCfrag.toFixed(2)} ms (parse ${floor.ts.parse.toFixed(2)}, reencrypt ${floor.ts.reencrypt.toFixed(2)}, ` +
        `sign ${floor.ts.sign.toFixed(2)}); WASM parse ${floor.wasm.parse.toFixed(2)}, reencrypt ${floor.wasm.reencrypt.toFixed(2)}; ` +
        `Bob's own part ${floor.ts.bob.toFixed(2)} ms (WASM ${floor.wasm.bob.toFixed(2)})`,
    );

    // 3. A 10× overload of the pooled node: an open loop at ten times the rate it served, from 64 addresses.
    const rate = Math.max(100, Math.round(10 * pooled.rps));
    const pid = nodes[0].pid;
    const rssBefore = rssMiB(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(pid))), 100);
    const overload = await child<OverloadResult>(
      "flood-client.ts",
      {
        FLOOD_CONFIG: JSON.stringify({
          mode: "overload",
          url,
          body,
          rate,
          durationMs: OVERLOAD_MS,
          addresses: OVERLOAD_ADDRESSES,
          maxOutstanding: 8192,
        }),
      },
      processes,
    ).finally(() => clearInterval(sampler));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rssAfter = rssMiB(pid);
    const answered = Object.values(overload.statuses).reduce((a, b) => a + b, 0);
    const share503 = (100 * (overload.statuses["503"] ?? 0)) / Math.max(1, answered);
    const offered = overload.sent / (overload.elapsedMs / 1000);
    console.log(
      `overload at ${rate}/s (sent ${offered.toFixed(0)}/s): ${statusList(overload.statuses)}; ` +
        `Retry-After on ${overload.refusedWithRetryAfter}/${overload.refused} refusals; ` +
        `RSS ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`,
    );

    const loadAfter = loadavg().map((l) => l.toFixed(1));
    const quiet = Number(load[0]) < 1.5;
    const verdict = (met: boolean) => (met ? "met" : "**missed**");
    const ms = (x: number) => x.toFixed(2);
    const ceiling = (perOne: number) => Math.floor((1000 * cores) / perOne);
    const machine = `${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const workers = defaultWorkerCount();
    const doc = [
      "# Network benchmark",
      "",
      `Measured by \`npm run bench:network\` (scripts/bench-network.ts) on ${machine}; load average`,
      `${load.join(" / ")} (1 / 5 / 15 min) at the start and ${loadAfter.join(" / ")} at the end` +
        (quiet
          ? ": the machine was otherwise idle."
          : ": the machine was shared with other work, so these figures are low and noisy; rerun on an idle machine."),
      "",
      "Configuration: the chain is Hardhat's in-process EVM with the Ignition deployment, served over JSON-RPC on",
      "loopback by the bench process; each node is its own process (scripts/bench-node-process.ts: the daemon with",
      `the default limits, ${workers} re-encryption worker threads — one per core — and the operator key local, so the`,
      "workers sign the attestations); the load generator is another process (scripts/flood-client.ts) with",
      `${CONCURRENCY} kept-alive connections from as many loopback addresses (many clients: the per-address rate limit`,
      "of 1200/min would otherwise cap one client); Bob runs in the bench process. A node checks the policy",
      "on-chain at most every 2 s (its cache). All processes share the same 2 cores.",
      "",
      "| measure | target | result | before the pool (docs of commit 417e141) | |",
      "| --- | ---: | ---: | ---: | --- |",
      `| re-encryptions one node serves (1 capsule a request, ${REQUESTS} requests) | ≥ 600/s | ${pooled.rps.toFixed(0)}/s | 150/s (client in the node's process) | ${verdict(pooled.rps >= 600)} |`,
      `| the same node, ${BATCH} capsules a request (${BATCH_CONCURRENCY} connections) | ≥ 600/s | ${batchedRps.toFixed(0)}/s | | ${verdict(batchedRps >= 600)} |`,
      `| the same node software with \`--workers 0\` (same run, its own process) | — | ${inThread.rps.toFixed(0)}/s | | peer |`,
      `| Bob retrieve + verify + decrypt, 3-of-5, 1 KiB, median of ${LATENCY_RUNS} | ≤ 25 ms | ${median.toFixed(1)} ms | 42.4 ms | ${verdict(median <= 25)} |`,
      `| the same, 95th percentile | ≤ 50 ms | ${p95.toFixed(1)} ms | 87.9 ms | ${verdict(p95 <= 50)} |`,
      "",
      "Each re-encryption parses the capsule, re-encrypts, and signs the EIP-712 attestation of the cfrag",
      "(src/node/attestation.ts: digest with noble's keccak, RFC 6979 signature with Umbral's fixed-base product,",
      "byte for byte what ethers' `signTypedData` gives, ~3× cheaper); Bob asks 3 of the 5 nodes (more only if one",
      "fails or is slow: docs/architecture.md) and verifies every cfrag before combining.",
      "",
      "## What the crypto allows (same run, CPU time on one core)",
      "",
      "| per cfrag, in a node's worker | this code | umbral-pre (WASM) |",
      "| --- | ---: | ---: |",
      `| capsule parse with its self-check | ${ms(floor.ts.parse)} ms | ${ms(floor.wasm.parse)} ms |`,
      `| re-encryption (four products by secrets on capsule points, one on U) | ${ms(floor.ts.reencrypt)} ms | ${ms(floor.wasm.reencrypt)} ms |`,
      `| attestation signature (EIP-712 digest, ECDSA) | ${ms(floor.ts.sign)} ms | — |`,
      `| **all** | **${ms(perCfrag)} ms** | |`,
      `| the ceiling this sets on ${cores} cores with nothing else running | ${ceiling(perCfrag)}/s | ${ceiling(floor.wasm.parse + floor.wasm.reencrypt + floor.ts.sign)}/s (with our signature) |`,
      `| Bob's own part of a 3-of-5 retrieval: 3 cfrags parsed and verified, combined, 1 KiB decrypted | ${ms(floor.ts.bob)} ms | ${ms(floor.wasm.bob)} ms |`,
      "",
      ceiling(perCfrag) < 600
        ? `So **≥ 600/s on ${cores} cores is out of this code's reach**: the node's workers would need the whole machine for ` +
          "the crypto alone, and here they share it with the node's main thread (HTTP, JSON, the policy check), the load " +
          "generator and the chain."
        : `The crypto alone would allow ${ceiling(perCfrag)}/s on ${cores} otherwise idle cores; here the workers share them ` +
          "with the node's main thread (HTTP, JSON, the policy check), the load generator and the chain, which is the gap " +
          "between that ceiling and the rows above (batching capsules shrinks the main thread's part).",
      "The lever left is the Umbral arithmetic itself (docs/bench.md); in production the load generator and the chain are",
      "not on the node's machine, and a node with more cores scales with its worker pool.",
      "Bob's latency in this run includes the three nodes' work on the same cores as his own.",
      "",
      "## Under a 10× overload",
      "",
      `An open loop offering ${rate} requests/s (ten times the rate served above) for ${OVERLOAD_MS / 1000} s from`,
      `${OVERLOAD_ADDRESSES} loopback addresses to the same node, whatever the answers; the generator reached`,
      `${offered.toFixed(0)} requests/s (${overload.sent} sent${overload.unsent ? `, ${overload.unsent} not sent: over 8192 unanswered` : ""}).`,
      "RSS is the node process's (main thread and workers), before, at its peak during, and 3 s after.",
      "",
      "| answers | 503 share | refusals with Retry-After | node RSS MiB (before → peak → after) |",
      "| --- | ---: | ---: | --- |",
      `| ${statusList(overload.statuses)} | ${share503.toFixed(1)} % | ${overload.refusedWithRetryAfter} of ${overload.refused} | ${rssBefore.toFixed(0)} → ${rssPeak.toFixed(0)} → ${rssAfter.toFixed(0)} |`,
      "",
      "What bounds memory: at most 256 capsules admitted in all (then 503 OVERLOADED), at most 128 requests",
      "waiting for a worker (piscina's maxQueue, then 503 OVERLOADED), 32 capsules in flight and 1200 requests a",
      "minute per address (then 429), 1024 connections; every refusal carries Retry-After and is answered after a",
      "1 s delay, so a client ignoring it gets at most one refusal per connection per second.",
      "",
    ].join("\n");
    const file = path.join(hre.config.paths.root, "docs", "bench-network.md");
    const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
    const flood = previous.indexOf(FLOOD_SECTION);
    writeFileSync(file, flood >= 0 ? doc + "\n" + previous.slice(flood) : doc);
    console.log("wrote docs/bench-network.md");
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
