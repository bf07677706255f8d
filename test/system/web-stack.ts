// Everything the web app needs, started for the browser test (test/system/browser.test.ts) and the web bench
// (scripts/bench-web.ts): a chain (`npx hardhat node` on a free port, a chain id of its own), the system
// deployed with Ignition, staked nodes allowing the app's origin (CORS; one may cheat), the app built and
// served, and a headless Chromium from @sparticuz/chromium driven by puppeteer-core. `stop` ends all of it,
// whatever was started, and removes what it wrote.
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import chromium from "@sparticuz/chromium";
import type { JsonRpcProvider, JsonRpcSigner } from "ethers";
import puppeteer, { type Browser } from "puppeteer-core";
import { startNode, type RunningNode } from "../../src/node/daemon";
import { stakeAndBond } from "../../src/network/local";
import { buildWeb, type WebBuild } from "../../scripts/build-web";
import { serveWeb, writeWebConfig } from "../../scripts/serve-web";
import { Harness, startChain, type ChainProcess, type DeployedContracts } from "./harness";

const KMS = 10n ** 18n;
/** Stakers are accounts #1–#3, their operators #4–#6 (as in the README); Alice is #7, Bob reports from #8. */
export const STAKERS = [1, 2, 3];
const OPERATOR_OFFSET = 3;
export const ALICE = 7;
export const REPORTER = 8;

/**
 * @sparticuz/chromium's flags meant for AWS Lambda that this test must not have: one process (no second browser
 * context), and no same-origin policy (the nodes' CORS must be what lets the app in).
 */
const BROWSER_ARGS_LEFT_OUT = ["--single-process", "--disable-web-security", "--allow-running-insecure-content"];

export interface WebStack {
  chainUrl: string;
  chainId: number;
  provider: JsonRpcProvider;
  contracts: DeployedContracts;

  nodes: RunningNode[];
  /** The app's URL (ends with "/"). */
  web: string;
  build: WebBuild;
  browser: Browser;
  /** Account #i of the chain. */
  account(i: number): Promise<JsonRpcSigner>;
  /** A temporary directory, removed by stop. */
  work: string;
  /** The harness (for `npx hardhat …` commands against the chain: env). */
  harness: Harness;
  env: Record<string, string | undefined>;
  stop(): Promise<void>;
}

/** Starts the stack; `cheaters` are indexes into STAKERS whose nodes return corrupted (signed) cfrags. */
export async function startWebStack(options: { cheaters?: number[] } = {}): Promise<WebStack> {
  const harness = new Harness();
  const work = mkdtempSync(path.join(tmpdir(), "kms-web-"));
  const nodes: RunningNode[] = [];
  let chain: ChainProcess | undefined;
  let server: Server | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await harness.close();
    chain?.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    chain = await startChain(harness);
    const { url: chainUrl, chainId, env, provider } = chain;
    // Deploying and building do not depend on each other.
    const [, build] = await Promise.all([
      harness.hardhatOk(["ignition", "deploy", "ignition/modules/KMS.ts", "--network", "chain"], env, 180_000),
      buildWeb(),
    ]);
    await writeWebConfig(chainUrl, "chain");
    const served = await serveWeb({ port: 0 });
    server = served.server;
    const origin = served.url.replace(/\/$/, "");

    const owner = await provider.getSigner(0);
    const contracts = chain.contracts(owner);
    for (const [k, i] of STAKERS.entries()) {
      const staker = await provider.getSigner(i);
      const operator = await provider.getSigner(i + OPERATOR_OFFSET);
      await stakeAndBond(contracts, owner, { staker, operator, stake: 20_000n * KMS, lockPeriods: 60n });
      nodes.push(
        await startNode({
          escrow: contracts.escrow,
          policyManager: contracts.policyManager,
          nodeDirectory: contracts.nodeDirectory,
          operator,
          dataDir: mkdtempSync(path.join(work, `node${i}-`)),
          port: 0,
          commitIntervalMs: 3_600_000,
          policyCacheMs: 0,
          corsOrigins: [origin],
          workers: 0, // the three nodes share the test's process: threads would only compete for its cores
          cheat: options.cheaters?.includes(k) ?? false,
        }),
      );
    }
    // Samplers count only nodes that committed to the current or next period. A node's first commitment try at
    // start may run before its bond is confirmed; so each commits now if it has not yet (a no-op otherwise).
    for (const node of nodes) await node.commitIfNeeded();
    const next = (await contracts.escrow.getCurrentPeriod()) + 1n;
    for (const node of nodes) {
      const [, last] = await contracts.escrow.getCommittedPeriods(node.staker);
      if (last < next) throw new Error(`node ${node.staker} did not commit to period ${next}`);
    }
    await (await contracts.token.transfer((await provider.getSigner(ALICE)).address, 1_000n * KMS)).wait();
    browser = await puppeteer.launch({
      executablePath: await chromium.executablePath(),
      args: chromium.args.filter((a) => !BROWSER_ARGS_LEFT_OUT.includes(a)),
      headless: true,
      defaultViewport: { width: 1000, height: 700 },
    });
    const p = provider;
    return {
      chainUrl,
      chainId,
      provider: p,
      contracts,
      nodes,
      web: served.url,
      build,
      browser,
      account: (i) => p.getSigner(i),
      work,
      harness,
      env,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
