// `npm run bench:sampling`: node discovery and gas as the network grows. On the in-process chain with the
// Ignition deployment, stakers are added in batches (each deposits, locks, runs its own node — a self-bonded
// operator needs no confirmation — commits and announces) up to 10,000, policies up to 100,000; at N = 10,
// 1,000 and 10,000 the script times Alice's discovery (loadActiveNodes: every page of the NodeDirectory) plus
// the stake-weighted sample, and measures commit, commit+mint and createPolicy gas. Writes docs/bench-sampling.md.
//
// Stakers are impersonated accounts and every batch is mined as one block (automine off), so building the
// network takes minutes, not hours; the contracts see exactly the transactions real stakers would send.
import { cpus } from "node:os";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import hre from "hardhat";
import { getAddress, getBytes, hexlify, toBeHex, type ContractTransactionResponse } from "ethers";
import { loadDeployment, type Deployment } from "../src/deployment";
import { decodePage, loadActiveNodes, sampleNodes } from "../src/staking";
import { formatKms } from "../src/units";
import { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE, DEFAULT_MIN_FEE_RATE } from "../ignition/modules/KMS";

const SIZES = (process.env.BENCH_SIZES ?? "10,1000,10000").split(",").map(Number);
/** Policies in the system at each size: BENCH_POLICIES lists one count per size (default 10 per staker). */
const POLICIES = (process.env.BENCH_POLICIES ?? SIZES.map((n) => String(n * 10)).join(",")).split(",").map(Number);
const BATCH = 500;
const KEY = "0x02" + "11".repeat(32);
const LOCK_PERIODS = DEFAULT_MIN_LOCK_PERIODS * 4n;
const DISCOVERY_RUNS = 5;

interface Row {
  n: number;
  policies: number;
  discoveryMs: number;
  candidates: number;
  commitGas: bigint;
  commitMintGas: bigint;
  createPolicyGas: bigint;
}

async function send(method: string, params: unknown[] = []): Promise<unknown> {
  return hre.network.provider.send(method, params);
}

/** Sends every transaction of `build` with automine off, mines them in one block, checks each succeeded. */
async function inOneBlock(build: () => Promise<Promise<ContractTransactionResponse>[]>): Promise<void> {
  await send("evm_setAutomine", [false]);
  let sent: ContractTransactionResponse[];
  try {
    sent = await Promise.all(await build());
    await send("evm_mine");
  } finally {
    await send("evm_setAutomine", [true]);
  }
  for (const tx of sent) {
    const receipt = await hre.ethers.provider.getTransactionReceipt(tx.hash);
    if (!receipt || receipt.status !== 1) throw new Error(`bench setup transaction ${tx.hash} failed`);
  }
}

async function impersonated(address: string) {
  await send("hardhat_impersonateAccount", [address]);
  await send("hardhat_setBalance", [address, toBeHex(10n ** 20n)]);
  return hre.ethers.getSigner(address);
}

/** Adds `count` stakers that lock the minimum stake, run their own node, commit to the next period and announce. */
async function addStakers(d: Deployment, count: number): Promise<string[]> {
  const [deployer] = await hre.ethers.getSigners();
  const escrow = await d.escrow.getAddress();
  const addresses: string[] = [];
  for (let done = 0; done < count; done += BATCH) {
    const batch = Math.min(BATCH, count - done);
    const signers: Awaited<ReturnType<typeof impersonated>>[] = [];
    for (let i = 0; i < batch; i++) signers.push(await impersonated(getAddress(hexlify(randomBytes(20)))));
    let nonce = await deployer.getNonce();
    await inOneBlock(async () =>
      signers.map((s) => d.token.connect(deployer).transfer(s.address, DEFAULT_MIN_STAKE, { nonce: nonce++ })),
    );
    await inOneBlock(async () => signers.map((s) => d.token.connect(s).approve(escrow, DEFAULT_MIN_STAKE)));
    await inOneBlock(async () =>
      signers.map((s) => d.escrow.connect(s).depositAndLock(DEFAULT_MIN_STAKE, LOCK_PERIODS)),
    );
    await inOneBlock(async () => signers.map((s) => d.escrow.connect(s).bondOperator(s.address)));
    await inOneBlock(async () => signers.map((s) => d.escrow.connect(s).commitToNextPeriod()));
    await inOneBlock(async () =>
      signers.map((s, i) => d.nodeDirectory.connect(s).announce(`http://127.0.0.1:${10_000 + done + i}`, KEY)),
    );
    addresses.push(...signers.map((s) => s.address));
  }
  return addresses;
}

/** Adds `count` one-node policies over random stakers, paid by one owner. */
async function addPolicies(d: Deployment, stakers: string[], count: number): Promise<void> {
  const [deployer, owner] = await hre.ethers.getSigners();
  const pm = await d.policyManager.getAddress();
  const current = await d.escrow.getCurrentPeriod();
  const deposit = DEFAULT_MIN_FEE_RATE * 10n;
  await (await d.token.connect(deployer).transfer(owner.address, deposit * BigInt(count))).wait();
  await (await d.token.connect(owner).approve(pm, deposit * BigInt(count))).wait();
  for (let done = 0; done < count; done += BATCH) {
    const batch = Math.min(BATCH, count - done);
    let nonce = await owner.getNonce();
    await inOneBlock(async () =>
      Array.from({ length: batch }, () =>
        d.policyManager
          .connect(owner)
          .createPolicy(
            hexlify(randomBytes(16)),
            owner.address,
            [stakers[Math.floor(Math.random() * stakers.length)]],
            current + 10n,
            DEFAULT_MIN_FEE_RATE,
            { nonce: nonce++ },
          ),
      ),
    );
  }
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("dropped");
  return receipt.gasUsed;
}

async function nextPeriod(d: Deployment): Promise<void> {
  const period = await d.escrow.getCurrentPeriod();
  const duration = await d.escrow.periodDuration();
  await send("evm_setNextBlockTimestamp", [Number((period + 1n) * duration + 1n)]);
  await send("evm_mine");
}

/** Discovery + sample as Alice runs it before a grant (3-of-5 over a 10-period policy), median of runs. */
async function timeDiscovery(d: Deployment): Promise<{ ms: number; candidates: number }> {
  const times: number[] = [];
  let candidates = 0;
  for (let run = 0; run < DISCOVERY_RUNS; run++) {
    const started = process.hrtime.bigint();
    const current = await d.escrow.getCurrentPeriod();
    const nodes = await loadActiveNodes(d, { lockedUntil: current + 10n });
    sampleNodes(nodes, Math.min(5, nodes.length), randomBytes(32));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    candidates = nodes.length;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], candidates };
}

async function main(): Promise<void> {
  const d = await loadDeployment(hre);
  // Batches are mined as single blocks: room for BATCH transactions of any kind.
  await send("evm_setBlockGasLimit", [toBeHex(2_000_000_000n)]);
  const [deployer, , probeStaker] = await hre.ethers.getSigners();
  const rows: Row[] = [];
  const stakers: string[] = [];
  let policies = 0;
  const started = Date.now();
  // One staker of our own whose operations are measured at every size (its own node, self-bonded).
  await (await d.token.transfer(probeStaker.address, DEFAULT_MIN_STAKE)).wait();
  await (await d.token.connect(probeStaker).approve(await d.escrow.getAddress(), DEFAULT_MIN_STAKE)).wait();
  await (await d.escrow.connect(probeStaker).depositAndLock(DEFAULT_MIN_STAKE, LOCK_PERIODS)).wait();
  await (await d.escrow.connect(probeStaker).bondOperator(probeStaker.address)).wait();
  await (await d.nodeDirectory.connect(probeStaker).announce("http://127.0.0.1:9999", KEY)).wait();
  for (const [index, n] of SIZES.entries()) {
    stakers.push(...(await addStakers(d, n - stakers.length)));
    const wanted = Math.max(policies, POLICIES[index] ?? n * 10);
    await addPolicies(d, stakers, wanted - policies);
    policies = wanted;
    // The probe's commitments, each the first of its period: a warm-up, then one with nothing past to mint
    // (its last commitment is the current period), then, two periods on, one that mints two past periods.
    await nextPeriod(d);
    await (await d.escrow.connect(probeStaker).commitToNextPeriod()).wait();
    await nextPeriod(d);
    const commitGas = await gasOf(d.escrow.connect(probeStaker).commitToNextPeriod());
    await nextPeriod(d);
    await nextPeriod(d);
    const commitMintGas = await gasOf(d.escrow.connect(probeStaker).commitToNextPeriod());
    const current = await d.escrow.getCurrentPeriod();
    await (await d.token.approve(await d.policyManager.getAddress(), DEFAULT_MIN_FEE_RATE * 10n)).wait();
    const createPolicyGas = await gasOf(
      d.policyManager.createPolicy(
        hexlify(randomBytes(16)),
        deployer.address,
        [probeStaker.address],
        current + 10n,
        DEFAULT_MIN_FEE_RATE,
      ),
    );
    // The bench's stakers committed once, long ago: only the probe is active now; re-commit them for discovery.
    for (let done = 0; done < stakers.length; done += BATCH) {
      const batch = stakers.slice(done, done + BATCH);
      const signers = await Promise.all(batch.map((a) => hre.ethers.getSigner(a)));
      await inOneBlock(async () => signers.map((s) => d.escrow.connect(s).commitToNextPeriod()));
    }
    const discovery = await timeDiscovery(d);
    rows.push({
      n,
      policies,
      discoveryMs: discovery.ms,
      candidates: discovery.candidates,
      commitGas,
      commitMintGas,
      createPolicyGas,
    });
    console.log(
      `N=${n}: discovery+sample ${discovery.ms.toFixed(0)} ms (${discovery.candidates} active), commit ` +
        `${commitGas}, commit+mint ${commitMintGas}, createPolicy ${createPolicyGas} (${policies} policies, ` +
        `${((Date.now() - started) / 1000).toFixed(0)} s so far)`,
    );
  }
  const g = (x: bigint) => x.toLocaleString("en-US");
  const lines = [
    "# Node discovery and gas as the network grows",
    "",
    "Measured by `npm run bench:sampling` (scripts/bench-sampling.ts) on Hardhat's in-process chain with the",
    "Ignition deployment (the escrow wired to its PolicyManager). Each of the N stakers locks the minimum stake",
    `(${formatKms(DEFAULT_MIN_STAKE)} KMS), runs its own node (a self-bonded operator), commits and announces; one-node`,
    "policies over random stakers are added as listed. Discovery is what Alice runs before a grant: every page of",
    "`NodeDirectory.nodesPage` (1,000 nodes per `eth_call`, 8 at once) filtered to the nodes that can serve a",
    "10-period policy, then the seeded stake-weighted draw of 5; median of " + DISCOVERY_RUNS + " runs, over the",
    "in-process provider (no network latency: a remote RPC adds one round trip per 8 pages). Gas is a probe",
    "staker's own transaction at each size: a commit with nothing to mint, a commit that mints two past periods",
    `(both with the PolicyManager hook), and a one-node createPolicy. Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}.`,
    "",
    "| stakers | policies | discovery + sample | active found | commit (hook, nothing to mint) | commit + mint | createPolicy, 1 node |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.n.toLocaleString("en-US")} | ${r.policies.toLocaleString("en-US")} | ${r.discoveryMs.toFixed(0)} ms | ` +
        `${r.candidates.toLocaleString("en-US")} | ${g(r.commitGas)} | ${g(r.commitMintGas)} | ${g(r.createPolicyGas)} |`,
    ),
    "",
    `Target: discovery ≤ 2 s at 10,000 stakers — ${rows.at(-1)!.discoveryMs <= 2000 ? "met" : "missed"}` +
      ` (${rows.at(-1)!.discoveryMs.toFixed(0)} ms); gas flat in N — ` +
      `${new Set(rows.map((r) => r.commitGas)).size === 1 ? "commit identical at every size" : "see the rows"}.`,
    "",
  ];
  writeFileSync(path.join(hre.config.paths.root, "docs", "bench-sampling.md"), lines.join("\n"));
  if (process.env.BENCH_PROFILE) await profile(d);
  console.log("wrote docs/bench-sampling.md");
}

async function profile(d: Deployment): Promise<void> {
  const data = d.nodeDirectory.interface.encodeFunctionData("nodesPage", [0n, 1000n]);
  const to = await d.nodeDirectory.getAddress();
  let t = Date.now();
  const raw = await hre.ethers.provider.call({ to, data });
  console.log("raw call ms", Date.now() - t, raw.length);
  t = Date.now();
  decodePage(getBytes(d.nodeDirectory.interface.decodeFunctionResult("nodesPage", raw)[0] as string));
  console.log("decode ms", Date.now() - t);
  console.log("gas", await hre.ethers.provider.estimateGas({ to, data }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
