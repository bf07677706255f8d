// One node of scripts/bench-network.ts in a process of its own, as `kms node` runs it: the daemon
// (src/node/daemon.ts, default limits) with the operator's key as a local key, against the bench's chain over
// JSON-RPC. Reads its configuration from BENCH_NODE (JSON), prints one JSON line {url} once it serves, and
// stops on SIGTERM.
import { JsonRpcProvider, Wallet } from "ethers";
import { NodeDirectory__factory, PolicyManager__factory, StakingEscrow__factory } from "../typechain-types";
import { startNode } from "../src/node/daemon";

interface BenchNodeConfig {
  rpcUrl: string;
  escrow: string;
  policyManager: string;
  nodeDirectory: string;
  operatorKey: string;
  staker: string;
  dataDir: string;
  deploymentBlock: number;
  workers?: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_NODE ?? "") as BenchNodeConfig;
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const operator = new Wallet(config.operatorKey, provider);
  const node = await startNode({
    escrow: StakingEscrow__factory.connect(config.escrow, operator),
    policyManager: PolicyManager__factory.connect(config.policyManager, operator),
    nodeDirectory: NodeDirectory__factory.connect(config.nodeDirectory, operator),
    operator,
    staker: config.staker,
    dataDir: config.dataDir,
    deploymentBlock: config.deploymentBlock,
    workers: config.workers,
    commitIntervalMs: 3_600_000,
    policyCacheMs: 2000,
  });
  process.stdout.write(JSON.stringify({ url: node.url, pid: process.pid }) + "\n");
  await new Promise<void>((resolve) => process.once("SIGTERM", () => void node.stop().then(resolve)));
  provider.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
