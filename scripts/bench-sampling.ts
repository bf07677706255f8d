// `npm run bench:sampling`: node discovery and gas as the network grows, on the Ignition deployment
// (ignition/modules/KMS.ts), first on Hardhat's in-process chain, then on Foundry's anvil (a separate process
// reached over HTTP, as users' clients reach a real node). Stakers are added in batches (each deposits, locks,
// runs its own node — a self-bonded operator needs no confirmation — commits and announces) up to 10,000, and
// one-node policies over random stakers up to 100,000 (10 per staker); at N = 10, 1,000 and 10,000 the script
// times Alice's discovery (loadActiveNodes: every page of the NodeDirectory) plus the stake-weighted sample of 5
// and the policy over them (createPolicy, mined), and measures a fresh probe staker's commit, commit + mint and
// createPolicy gas. Writes docs/bench-sampling.md.
//
// Every staker and policy is a real transaction (impersonated accounts, no storage writes): the transactions are
// sent raw with fixed gas limits (no estimate) in JSON-RPC batches and mined as a few big blocks (automine off),
// every receipt is checked, and discovery must find every staker active.
//
// Env: BENCH_SIZES (default 10,1000,10000), BENCH_POLICIES (one cumulative count per size; default 10 per staker),
// BENCH_ANVIL_SIZES and BENCH_ANVIL_POLICIES (the same as BENCH_SIZES and BENCH_POLICIES, for the anvil run;
// default: those), BENCH_ANVIL=0 / BENCH_HARDHAT=0 skip a chain, BENCH_ANVIL_ROUND (transactions sent to anvil
// per mined round, default 500). BENCH_CHILD_OUT is set by the script itself for its run on anvil.
import { cpus, loadavg } from "node:os";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import hre from "hardhat";
import { getAddress, hexlify, JsonRpcProvider, MaxUint256, toBeHex } from "ethers";
import { loadDeployment, type Deployment } from "../src/deployment";
import { loadActiveNodes, NODE_PAGE_SIZE, sampleNodes, CONCURRENT_PAGES } from "../src/staking";
import { formatKms } from "../src/units";
import { NodeDirectory__factory, StakingEscrow__factory } from "../typechain-types";
import { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE, DEFAULT_MIN_FEE_RATE } from "../ignition/modules/KMS";
import { anvilBinary, freePort } from "../test/system/harness";

const SIZES = (process.env.BENCH_SIZES ?? "10,1000,10000").split(",").map(Number);
/** Sizes of the anvil run: BENCH_ANVIL_SIZES, else SIZES. */
const ANVIL_SIZES = process.env.BENCH_ANVIL_SIZES ?? SIZES.join(",");
const policyCounts = (list: string | undefined) =>
  (list ?? SIZES.map((n) => String(n * 10)).join(",")).split(",").map(Number);
const CHILD_OUT = process.env.BENCH_CHILD_OUT;
/** On anvil, BENCH_ANVIL_POLICIES if set (the parent passes it on as BENCH_POLICIES). */
const POLICIES = policyCounts(process.env.BENCH_POLICIES);
const KEY = "0x02" + "11".repeat(32);
/** Long enough for every staker to stay locked through all sizes' period jumps (~30 periods per size). */
const LOCK_PERIODS = DEFAULT_MIN_LOCK_PERIODS * 12n;
const POLICY_PERIODS = 10n;
const DISCOVERY_RUNS = 5;
const SAMPLE = 5;
/** Stakers per round of transactions; policies per round. */
const STAKER_BATCH = 1000;
const POLICY_BATCH = Number(process.env.BENCH_POLICY_BATCH ?? 5000);
const POLICY_PAYERS = 10;
const BLOCK_GAS_LIMIT = 2_000_000_000n;
/** Gas limits per transaction kind: about twice what each uses, so blocks stay under the EIP-1559 target. */
const GAS = {
  transfer: 100_000n,
  approve: 100_000n,
  depositAndLock: 300_000n,
  bondOperator: 150_000n,
  commit: 300_000n,
  announce: 300_000n,
  createPolicy: 400_000n,
};

interface Row {
  n: number;
  policies: number;
  discoveryMs: number;
  discoveryRuns: number[];
  candidates: number;
  pageGas: bigint;
  pageNodes: number;
  grantTxMs: number;
  /** Undefined in rows rebuilt from a run's log (BENCH_FROM), which does not print it. */
  grantGas?: bigint;
  commitGas: bigint;
  commitMintGas: bigint;
  commitBlockGas: bigint;
  createPolicyGas: bigint;
}

interface RunResult {
  chain: string;
  rows: Row[];
  buildSeconds: number;
  load: [number, number];
}

// ------------------------------------------------------------------------------------------------------------
// JSON-RPC: the in-process provider, or batches over HTTP (anvil)
// ------------------------------------------------------------------------------------------------------------

interface Request {
  method: string;
  params: unknown[];
}

const RPC_URL = hre.network.name === "hardhat" ? undefined : process.env.KMS_CHAIN_URL;
const HTTP_BATCH = 1000;

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return (await rpcBatch([{ method, params }]))[0];
}

async function rpcBatch(requests: Request[]): Promise<unknown[]> {
  if (!RPC_URL) return Promise.all(requests.map((r) => hre.network.provider.send(r.method, r.params)));
  const results: unknown[] = [];
  for (let at = 0; at < requests.length; at += HTTP_BATCH) {
    const chunk = requests.slice(at, at + HTTP_BATCH);
    const response = await fetch(RPC_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chunk.map((r, id) => ({ jsonrpc: "2.0", id, ...r }))),
    });
    const answers = (await response.json()) as { id: number; result?: unknown; error?: { message: string } }[];
    answers.sort((a, b) => a.id - b.id);
    for (const [i, a] of answers.entries()) {
      if (a.error) throw new Error(`${chunk[i].method}: ${a.error.message}`);
      results.push(a.result);
    }
  }
  return results;
}

interface Tx {
  from: string;
  to: string;
  data: string;
  gas: bigint;
}

const asRequest = (t: Tx, nonce?: number): Request => ({
  method: "eth_sendTransaction",
  params: [
    {
      from: t.from,
      to: t.to,
      data: t.data,
      gas: toBeHex(t.gas),
      ...(nonce === undefined ? {} : { nonce: toBeHex(nonce) }),
    },
  ],
});

/** Explicit nonces, each sender's transactions in list order (concurrent sends may otherwise be numbered out of order). */
async function withNonces(txs: Tx[]): Promise<Request[]> {
  const senders = [...new Set(txs.map((t) => t.from))];
  const counts = (await rpcBatch(
    senders.map((s) => ({ method: "eth_getTransactionCount", params: [s, "pending"] })),
  )) as string[];
  const next = new Map(senders.map((s, i) => [s, Number(BigInt(counts[i]))]));
  return txs.map((t) => {
    const nonce = next.get(t.from)!;
    next.set(t.from, nonce + 1);
    return asRequest(t, nonce);
  });
}

/**
 * Transactions sent to anvil before it mines: anvil slows down with the size of its pool (about 27 transactions a
 * second with 5,000 pending here: 600 s for 1,000 stakers), so over HTTP they go in rounds of this many, each
 * mined before the next (the same 1,000 stakers and 10,000 policies in 34 s).
 */
const ANVIL_ROUND = Number(process.env.BENCH_ANVIL_ROUND ?? 500);

/** Sends every transaction with automine off, mines blocks until all are in, checks that each succeeded. */
async function mineAll(txs: Tx[]): Promise<void> {
  if (RPC_URL && txs.length > ANVIL_ROUND) {
    for (let at = 0; at < txs.length; at += ANVIL_ROUND) await mineAll(txs.slice(at, at + ANVIL_ROUND));
    return;
  }
  await rpc("evm_setAutomine", [false]);
  try {
    let pending = (await rpcBatch(await withNonces(txs))) as string[];
    for (let blocks = 0; pending.length > 0; blocks++) {
      if (blocks > 100) throw new Error(`bench setup: ${pending.length} transactions not mined after 100 blocks`);
      await rpc("evm_mine");
      const receipts = (await rpcBatch(
        pending.map((hash) => ({ method: "eth_getTransactionReceipt", params: [hash] })),
      )) as ({ status: string } | null)[];
      const left: string[] = [];
      for (const [i, receipt] of receipts.entries()) {
        if (!receipt) left.push(pending[i]);
        else if (receipt.status !== "0x1") {
          const r = receipt as unknown as { gasUsed: string; to: string; from: string };
          throw new Error(`bench setup transaction ${pending[i]} failed (to ${r.to}, gas used ${BigInt(r.gasUsed)})`);
        }
      }
      pending = left;
    }
  } finally {
    await rpc("evm_setAutomine", [true]);
  }
}

interface Receipt {
  status: string;
  gasUsed: string;
}

/** Sends one transaction (automine on) and returns its gas; it must succeed. */
async function gasOf(tx: Tx): Promise<bigint> {
  const hash = (await rpc("eth_sendTransaction", asRequest(tx).params)) as string;
  let receipt = null as Receipt | null;
  // anvil may answer the send before its block is stored.
  for (let tries = 0; !receipt && tries < 100; tries++) {
    receipt = (await rpc("eth_getTransactionReceipt", [hash])) as Receipt | null;
    if (!receipt) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!receipt || receipt.status !== "0x1") {
    let reason = receipt ? `reverted, gas used ${BigInt(receipt.gasUsed)}` : "never mined";
    try {
      await rpc("eth_call", [{ from: tx.from, to: tx.to, data: tx.data, gas: toBeHex(tx.gas) }, "latest"]);
    } catch (error) {
      reason += `; replayed: ${(error as Error).message}`;
    }
    throw new Error(`bench transaction ${hash} to ${tx.to} failed (${reason})`);
  }
  return BigInt(receipt.gasUsed);
}

/** Fresh accounts that can send transactions without a key, each with ether for gas. */
async function newAccounts(count: number): Promise<string[]> {
  const accounts = Array.from({ length: count }, () => getAddress(hexlify(randomBytes(20))));
  await rpcBatch(accounts.map((a) => ({ method: "hardhat_impersonateAccount", params: [a] })));
  await rpcBatch(accounts.map((a) => ({ method: "hardhat_setBalance", params: [a, toBeHex(10n ** 20n)] })));
  return accounts;
}

async function nextPeriod(d: Deployment): Promise<bigint> {
  const period = await d.escrow.getCurrentPeriod();
  const duration = await d.escrow.periodDuration();
  await rpc("evm_setNextBlockTimestamp", [Number((period + 1n) * duration + 1n)]);
  await rpc("evm_mine");
  return period + 1n;
}

// ------------------------------------------------------------------------------------------------------------
// Building the network
// ------------------------------------------------------------------------------------------------------------

interface Bench {
  d: Deployment;
  deployer: string;
  escrow: string;
  directory: string;
  manager: string;
  token: string;
}

/** Adds `count` stakers that lock the minimum stake, run their own node, commit to the next period and announce. */
async function addStakers(b: Bench, count: number, first: number): Promise<string[]> {
  const { d } = b;
  const added: string[] = [];
  for (let done = 0; done < count; done += STAKER_BATCH) {
    const stakers = await newAccounts(Math.min(STAKER_BATCH, count - done));
    await mineAll(
      stakers.map((s) => ({
        from: b.deployer,
        to: b.token,
        data: d.token.interface.encodeFunctionData("transfer", [s, DEFAULT_MIN_STAKE]),
        gas: GAS.transfer,
      })),
    );
    const approve = d.token.interface.encodeFunctionData("approve", [b.escrow, DEFAULT_MIN_STAKE]);
    const lock = d.escrow.interface.encodeFunctionData("depositAndLock", [DEFAULT_MIN_STAKE, LOCK_PERIODS]);
    const commit = d.escrow.interface.encodeFunctionData("commitToNextPeriod");
    // Each staker's five transactions in nonce order, mined in the same block(s).
    await mineAll(
      stakers.flatMap((s, i) => [
        { from: s, to: b.token, data: approve, gas: GAS.approve },
        { from: s, to: b.escrow, data: lock, gas: GAS.depositAndLock },
        {
          from: s,
          to: b.escrow,
          data: d.escrow.interface.encodeFunctionData("bondOperator", [s]),
          gas: GAS.bondOperator,
        },
        { from: s, to: b.escrow, data: commit, gas: GAS.commit },
        {
          from: s,
          to: b.directory,
          data: d.nodeDirectory.interface.encodeFunctionData("announce", [
            `http://127.0.0.1:${10_000 + first + done + i}`,
            KEY,
          ]),
          gas: GAS.announce,
        },
      ]),
    );
    added.push(...stakers);
  }
  return added;
}

/** Adds `count` one-node policies over random stakers, paid by a few payers. */
async function addPolicies(b: Bench, payers: string[], stakers: string[], count: number): Promise<void> {
  const { d } = b;
  const current = await d.escrow.getCurrentPeriod();
  for (let done = 0; done < count; done += POLICY_BATCH) {
    const batch = Math.min(POLICY_BATCH, count - done);
    await mineAll(
      Array.from({ length: batch }, (_, i) => ({
        from: payers[i % payers.length],
        to: b.manager,
        data: d.policyManager.interface.encodeFunctionData("createPolicy", [
          hexlify(randomBytes(16)),
          payers[i % payers.length],
          [stakers[Math.floor(Math.random() * stakers.length)]],
          current + POLICY_PERIODS,
          DEFAULT_MIN_FEE_RATE,
        ]),
        gas: GAS.createPolicy,
      })),
    );
  }
}

/** Re-commits every staker to the next period (their earlier commitments are past after the period jumps). */
async function recommit(b: Bench, stakers: string[]): Promise<void> {
  const commit = b.d.escrow.interface.encodeFunctionData("commitToNextPeriod");
  for (let done = 0; done < stakers.length; done += STAKER_BATCH * 2) {
    await mineAll(
      stakers
        .slice(done, done + STAKER_BATCH * 2)
        .map((s) => ({ from: s, to: b.escrow, data: commit, gas: GAS.commit })),
    );
  }
}

// ------------------------------------------------------------------------------------------------------------
// Measurements
// ------------------------------------------------------------------------------------------------------------

/**
 * A fresh probe staker's gas at a fixed phase of the 16-period blocks the PolicyManager keeps commitment bits in,
 * so that every size measures the same thing: it stakes, runs its own node and holds one policy; "commit" has
 * nothing to mint, "commit + mint" mints two past periods, both inside one 16-period block; "first of a block"
 * is a commit + mint that opens a new 16-period block (the node's bits of the old one go to a fresh word). Each
 * of them is the first commitment of its period (no bench staker commits in those periods).
 */
async function probeGas(b: Bench) {
  const { d } = b;
  const [probe] = await newAccounts(1);
  const call = (to: string, data: string, gas: bigint, from = probe): Tx => ({ from, to, data, gas });
  const commit = call(b.escrow, d.escrow.interface.encodeFunctionData("commitToNextPeriod"), GAS.commit);
  await gasOf(
    call(
      b.token,
      d.token.interface.encodeFunctionData("transfer", [probe, DEFAULT_MIN_STAKE]),
      GAS.transfer,
      b.deployer,
    ),
  );
  await gasOf(
    call(b.token, d.token.interface.encodeFunctionData("approve", [b.escrow, DEFAULT_MIN_STAKE]), GAS.approve),
  );
  await gasOf(
    call(
      b.escrow,
      d.escrow.interface.encodeFunctionData("depositAndLock", [DEFAULT_MIN_STAKE, LOCK_PERIODS]),
      GAS.depositAndLock,
    ),
  );
  await gasOf(call(b.escrow, d.escrow.interface.encodeFunctionData("bondOperator", [probe]), GAS.bondOperator));
  await gasOf(
    call(
      b.directory,
      d.nodeDirectory.interface.encodeFunctionData("announce", ["http://127.0.0.1:9999", KEY]),
      GAS.announce,
    ),
  );
  // Phase: current ≡ 0 (mod 16), so commitments to current + 1 … current + 15 share one block.
  let current = await d.escrow.getCurrentPeriod();
  while (current % 16n !== 0n) current = await nextPeriod(d);
  await gasOf(commit); // to c + 1: opens the node's PolicyManager slot
  const createPolicyGas = await gasOf(
    call(
      b.manager,
      d.policyManager.interface.encodeFunctionData("createPolicy", [
        hexlify(randomBytes(16)),
        b.deployer,
        [probe],
        current + POLICY_PERIODS,
        DEFAULT_MIN_FEE_RATE,
      ]),
      GAS.createPolicy,
      b.deployer,
    ),
  );
  await nextPeriod(d); // c + 1
  const commitGas = await gasOf(commit); // to c + 2; c + 1 is current: nothing to mint
  await nextPeriod(d);
  await nextPeriod(d); // c + 3
  const commitMintGas = await gasOf(commit); // to c + 4; mints c + 1 and c + 2
  while ((current = await nextPeriod(d)) % 16n !== 15n);
  const commitBlockGas = await gasOf(commit); // to c + 16: a new block; mints c + 4
  return { createPolicyGas, commitGas, commitMintGas, commitBlockGas };
}

/** The contracts as a user's client sees them: through the in-process provider, or a plain JSON-RPC provider. */
function clientContracts(d: Deployment, provider?: JsonRpcProvider) {
  if (!provider) return d;
  return {
    escrow: StakingEscrow__factory.connect(d.escrow.target as string, provider),
    nodeDirectory: NodeDirectory__factory.connect(d.nodeDirectory.target as string, provider),
  };
}

/** Discovery + sample of 5 as Alice runs it before a grant (a 10-period policy), then that policy, mined. */
async function timeGrant(b: Bench, provider: JsonRpcProvider | undefined, n: number) {
  const { d } = b;
  const contracts = clientContracts(d, provider);
  const runs: number[] = [];
  let candidates = 0;
  let sampled: string[] = [];
  for (let run = 0; run < DISCOVERY_RUNS; run++) {
    const started = process.hrtime.bigint();
    const current = await contracts.escrow.getCurrentPeriod();
    const nodes = await loadActiveNodes(contracts, { lockedUntil: current + POLICY_PERIODS });
    sampled = sampleNodes(nodes, Math.min(SAMPLE, nodes.length), randomBytes(32));
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
    candidates = nodes.length;
  }
  // Every bench staker re-committed: discovery must see them all (the probes may or may not be active).
  if (candidates < n) throw new Error(`discovery found ${candidates} active nodes, expected at least ${n}`);
  const current = await d.escrow.getCurrentPeriod();
  const started = process.hrtime.bigint();
  const grantGas = await gasOf({
    from: b.deployer,
    to: b.manager,
    data: d.policyManager.interface.encodeFunctionData("createPolicy", [
      hexlify(randomBytes(16)),
      b.deployer,
      // The policy lists its nodes in ascending order.
      [...sampled].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)),
      current + POLICY_PERIODS,
      DEFAULT_MIN_FEE_RATE,
    ]),
    gas: GAS.createPolicy * 3n,
  });
  const grantTxMs = Number(process.hrtime.bigint() - started) / 1e6;
  const sorted = [...runs].sort((x, y) => x - y);
  const pageNodes = Math.min(candidates, NODE_PAGE_SIZE);
  const pageGas = await d.nodeDirectory.nodesPage.estimateGas(0n, BigInt(NODE_PAGE_SIZE));
  return {
    discoveryMs: sorted[Math.floor(sorted.length / 2)],
    discoveryRuns: runs,
    candidates,
    pageGas,
    pageNodes,
    grantTxMs,
    grantGas,
  };
}

async function run(): Promise<RunResult> {
  const d = await loadDeployment(hre);
  const load0 = loadavg()[0];
  const [deployerSigner] = await hre.ethers.getSigners();
  const b: Bench = {
    d,
    deployer: deployerSigner.address,
    escrow: await d.escrow.getAddress(),
    directory: await d.nodeDirectory.getAddress(),
    manager: await d.policyManager.getAddress(),
    token: await d.token.getAddress(),
  };
  await rpc("evm_setBlockGasLimit", [toBeHex(BLOCK_GAS_LIMIT)]);
  const provider = RPC_URL ? new JsonRpcProvider(RPC_URL, undefined, { staticNetwork: true }) : undefined;
  // Payers of the bench's policies (and the deployer, of the probes' and the grants'): funded and approved once.
  const payers = await newAccounts(POLICY_PAYERS);
  const funds = DEFAULT_MIN_FEE_RATE * POLICY_PERIODS * BigInt(Math.max(...POLICIES, 0) + 1);
  await mineAll([
    ...payers.map((p) => ({
      from: b.deployer,
      to: b.token,
      data: d.token.interface.encodeFunctionData("transfer", [p, funds / BigInt(POLICY_PAYERS) + 1n]),
      gas: GAS.transfer,
    })),
    ...[...payers, b.deployer].map((p) => ({
      from: p,
      to: b.token,
      data: d.token.interface.encodeFunctionData("approve", [b.manager, MaxUint256]),
      gas: GAS.approve,
    })),
  ]);
  const rows: Row[] = [];
  const stakers: string[] = [];
  let policies = 0;
  let buildMs = 0;
  for (const [index, n] of SIZES.entries()) {
    const started = Date.now();
    stakers.push(...(await addStakers(b, n - stakers.length, stakers.length)));
    const wanted = Math.max(policies, POLICIES[index] ?? n * 10);
    await addPolicies(b, payers, stakers, wanted - policies);
    policies = wanted;
    buildMs += Date.now() - started;
    const gas = await probeGas(b);
    const recommitStarted = Date.now();
    await recommit(b, stakers);
    buildMs += Date.now() - recommitStarted;
    const grant = await timeGrant(b, provider, n);
    rows.push({ n, policies, ...gas, ...grant });
    console.log(
      `${hre.network.name} N=${n}: discovery+sample ${grant.discoveryMs.toFixed(0)} ms ` +
        `(runs ${grant.discoveryRuns.map((t) => t.toFixed(0)).join(", ")}; ${grant.candidates} active), page ` +
        `${grant.pageGas} gas, grant tx ${grant.grantTxMs.toFixed(0)} ms; commit ${gas.commitGas}, commit+mint ` +
        `${gas.commitMintGas}, first of a block ${gas.commitBlockGas}, createPolicy ${gas.createPolicyGas} ` +
        `(${policies} policies; built in ${(buildMs / 1000).toFixed(0)} s so far)`,
    );
  }
  provider?.destroy();
  return { chain: hre.network.name, rows, buildSeconds: buildMs / 1000, load: [load0, loadavg()[0]] };
}

// ------------------------------------------------------------------------------------------------------------
// anvil: a chain in its own process, deployed with Ignition, the same run over HTTP
// ------------------------------------------------------------------------------------------------------------

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["hardhat", ...args], { env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`npx hardhat ${args[0]} exited ${code}`))));
  });
}

async function onAnvil(): Promise<RunResult | string> {
  const bin = anvilBinary();
  if (!bin) return `no anvil for ${process.platform}-${process.arch} in node_modules/.bin`;
  const port = await freePort();
  const chainId = 31_400 + Math.floor(Math.random() * 500);
  const url = `http://127.0.0.1:${port}`;
  const anvil = spawn(
    bin,
    ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--accounts", "10", "--silent"],
    { stdio: "ignore", detached: true },
  );
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-sampling-"));
  const deployments = path.join(hre.config.paths.root, "ignition", "deployments");
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await (await fetch(url, { method: "POST", body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}' })).json();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const env = {
      ...process.env,
      KMS_CHAIN_URL: url,
      KMS_CHAIN_ID: String(chainId),
      HARDHAT_NETWORK: undefined,
      HARDHAT_IGNITION_CONFIRM_DEPLOYMENT: "false",
    };
    await runChild(["ignition", "deploy", "ignition/modules/KMS.ts", "--network", "chain"], env);
    const out = path.join(work, "result.json");
    await runChild(["run", "scripts/bench-sampling.ts", "--network", "chain"], {
      ...env,
      BENCH_CHILD_OUT: out,
      BENCH_SIZES: ANVIL_SIZES,
      BENCH_POLICIES: process.env.BENCH_ANVIL_POLICIES ?? process.env.BENCH_POLICIES,
    });
    return fromJson(readFileSync(out, "utf8")) as RunResult;
  } finally {
    if (anvil.pid) process.kill(-anvil.pid, "SIGKILL");
    rmSync(work, { recursive: true, force: true });
    rmSync(path.join(deployments, `chain-${chainId}`), { recursive: true, force: true });
    try {
      rmdirSync(deployments);
    } catch {
      // Not empty: other deployments live there.
    }
  }
}

// ------------------------------------------------------------------------------------------------------------
// The report
// ------------------------------------------------------------------------------------------------------------

const g = (x: bigint) => x.toLocaleString("en-US");
const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} ms`;
const TARGET_MS = 2000;

function table(result: RunResult): string[] {
  return [
    `**${result.chain === "hardhat" ? "Hardhat in-process chain" : "anvil over HTTP"}** (network built in ` +
      `${result.buildSeconds.toFixed(0)} s; load average ${result.load[0].toFixed(1)} at the start, ` +
      `${result.load[1].toFixed(1)} at the end)`,
    "",
    "| stakers | policies | discovery + sample (target ≤ 2 s at 10,000) | the runs | active found | page gas (nodes) | " +
      "grant tx, 5 nodes | commit, nothing to mint | commit + mint | commit + mint, first of a block | " +
      "createPolicy, 1 node |",
    "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...result.rows.map(
      (r) =>
        `| ${r.n.toLocaleString("en-US")} | ${r.policies.toLocaleString("en-US")} | ${ms(r.discoveryMs)}` +
        `${r.n >= 10_000 ? (r.discoveryMs <= TARGET_MS ? " (met)" : " (**missed**)") : ""} | ` +
        `${r.discoveryRuns.map((x) => x.toFixed(0)).join(", ")} ms | ` +
        `${r.candidates.toLocaleString("en-US")} | ${g(r.pageGas)} (${r.pageNodes}) | ${ms(r.grantTxMs)}${r.grantGas === undefined ? "" : `, ${g(r.grantGas)} gas`} | ` +
        `${g(r.commitGas)} | ${g(r.commitMintGas)} | ${g(r.commitBlockGas)} | ${g(r.createPolicyGas)} |`,
    ),
    "",
  ];
}

function flat(rows: Row[], key: "commitGas" | "commitMintGas" | "commitBlockGas" | "createPolicyGas"): string {
  const values = rows.map((r) => r[key]);
  const min = values.reduce((a, b) => (a < b ? a : b));
  const max = values.reduce((a, b) => (a > b ? a : b));
  return min === max ? `identical at every size (${g(min)})` : `${g(min)} to ${g(max)} (spread ${g(max - min)})`;
}

function report(results: RunResult[], anvilNote?: string): string {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}`;
  const verdicts = results.map((r) => {
    const last = r.rows.at(-1)!;
    const met = last.discoveryMs <= TARGET_MS;
    const chain = r.chain === "hardhat" ? "in-process" : "anvil";
    if (last.n < 10_000) {
      return `${chain}: not measured at 10,000 (the largest size run: ${ms(last.discoveryMs)} at ${last.n.toLocaleString("en-US")})`;
    }
    return `${chain}: ${ms(last.discoveryMs)} at ${last.n.toLocaleString("en-US")} stakers, ${met ? "met" : "**missed**"}`;
  });
  const hardhat = results[0]; // the in-process run, or anvil alone
  const perNode = hardhat.rows
    .filter((r) => r.pageNodes >= 1000)
    .map((r) => `${g((r.pageGas - 21_000n) / BigInt(r.pageNodes))} gas per node at ${r.n.toLocaleString("en-US")}`);
  return [
    "# Node discovery and gas as the network grows",
    "",
    "Measured by `npm run bench:sampling` (scripts/bench-sampling.ts) on the Ignition deployment",
    "(`ignition/modules/KMS.ts`, the escrow wired to its PolicyManager), first on Hardhat's in-process chain, then",
    "on Foundry's anvil started by the script in its own process and reached over HTTP on loopback. Each of the N",
    `stakers locks the minimum stake (${formatKms(DEFAULT_MIN_STAKE)} KMS), runs its own node (a self-bonded operator),`,
    "commits and announces; one-node policies over random stakers are added (10 per staker: 100,000 at 10,000",
    "stakers). All are real transactions (impersonated accounts, fixed gas limits, mined in blocks of up to 2G gas),",
    "every receipt checked.",
    "",
    `Discovery is what Alice runs before a grant: \`loadActiveNodes\` reads every page of \`NodeDirectory.nodesPage\``,
    `(${NODE_PAGE_SIZE.toLocaleString("en-US")} nodes per \`eth_call\`, ${CONCURRENT_PAGES} in flight) and keeps the nodes that can serve a`,
    `10-period policy, then \`sampleNodes\` draws ${SAMPLE} by stake; median of ${DISCOVERY_RUNS} runs. In-process, through`,
    "Hardhat's ethers provider; on anvil, through a plain ethers `JsonRpcProvider` (what a user's client uses).",
    '"Grant tx" is the policy over the 5 sampled nodes (`createPolicy`, sent and mined): with discovery it is the',
    'on-chain part of a grant (the kfrag deliveries to the nodes are measured in docs/bench-network.md). "Page gas"',
    "is `eth_estimateGas` of `nodesPage(0, 1000)` (21,000 of it is the transaction base cost, which an `eth_call` does",
    "not count against the cap).",
    "",
    "Gas is a fresh probe staker's own transactions at each size, each the first commitment of its period, at the",
    "same phase of the PolicyManager's 16-period blocks: a commit with nothing to mint, a commit that mints two past",
    "periods, a commit + mint that opens a new 16-period block, and the probe's one-node createPolicy.",
    "",
    `Machine: ${machine}. ` +
      (Math.max(...results.flatMap((r) => r.load)) < 2.5
        ? "Nothing else heavy ran during the run (load averages below: the bench's own processes)."
        : "Other work ran on the same cores during the run (load averages below), so times are slower than idle."),
    "",
    ...results.flatMap(table),
    ...(anvilNote ? [`anvil: not run (${anvilNote}).`, ""] : []),
    "## Targets",
    "",
    `- Node discovery ≤ 2 s at 10,000 stakers: ${verdicts.join("; ")}.`,
    `- Gas flat in N: commit ${flat(hardhat.rows, "commitGas")}; commit + mint ${flat(hardhat.rows, "commitMintGas")};` +
      ` first of a block ${flat(hardhat.rows, "commitBlockGas")}; createPolicy ${flat(hardhat.rows, "createPolicyGas")}.`,
    `- A full page stays under a 50M \`eth_call\` gas cap: ${perNode.join(", ")}.`,
    "",
  ].join("\n");
}

/** Everything from this marker to the end of docs/bench-sampling.md is written by hand and kept as it is. */
const KEPT_SECTION = "<!-- written by hand from here on: scripts/bench-sampling.ts keeps it -->";

/** Writes the report, keeping the hand-written part of the doc there is now. */
function writeReport(text: string): void {
  const file = path.join(hre.config.paths.root, "docs", "bench-sampling.md");
  let previous = "";
  try {
    previous = readFileSync(file, "utf8");
  } catch {
    // No doc yet.
  }
  const kept = previous.indexOf(KEPT_SECTION);
  writeFileSync(file, kept >= 0 ? text + "\n" + previous.slice(kept) : text);
}

const toJson = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
const fromJson = (text: string) =>
  JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));

async function main(): Promise<void> {
  // BENCH_FROM=a.json,b.json writes the report from runs saved with BENCH_RESULT (e.g. the two chains run apart).
  if (process.env.BENCH_FROM) {
    const saved = process.env.BENCH_FROM.split(",").flatMap((f) => fromJson(readFileSync(f, "utf8")) as RunResult[]);
    writeReport(report(saved));
    return;
  }
  if (CHILD_OUT) {
    const result = await run();
    writeFileSync(
      CHILD_OUT,
      JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)),
    );
    return;
  }
  const results = process.env.BENCH_HARDHAT === "0" ? [] : [await run()];
  let anvilNote: string | undefined;
  if (process.env.BENCH_ANVIL !== "0") {
    const anvil = await onAnvil();
    if (typeof anvil === "string") anvilNote = anvil;
    else results.push(anvil);
  } else anvilNote = "BENCH_ANVIL=0";
  if (process.env.BENCH_RESULT) writeFileSync(process.env.BENCH_RESULT, toJson(results));
  writeReport(report(results, anvilNote));
  console.log("wrote docs/bench-sampling.md");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
