// A local network of staked nodes on loopback: the demo, the end-to-end tests and the throughput bench all
// start nodes this way, against whatever chain the contracts live on.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Signer } from "ethers";
import type { KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { bondOperator, confirmOperator, deposit } from "../staking";
import { startNode, type RunningNode } from "../node/daemon";

export interface LocalContracts {
  token: KMSToken;
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  nodeDirectory: NodeDirectory;
}

/** One node to bring up: its staker, its operator, how much it stakes for how long. */
export interface LocalNodeSpec {
  staker: Signer;
  operator: Signer;
  stake: bigint;
  lockPeriods: bigint;
  /** Fault injection: this node returns corrupted (signed) cfrags. */
  cheat?: boolean;
  /** Reuse a data directory (restart from its store); default a fresh temporary one. */
  dataDir?: string;
}

/**
 * Funds the staker from `funder` if needed, deposits and locks its stake, bonds its operator and confirms the
 * bond with the operator's key.
 */
export async function stakeAndBond(contracts: LocalContracts, funder: Signer, spec: LocalNodeSpec): Promise<void> {
  const staker = await spec.staker.getAddress();
  const balance = await contracts.token.balanceOf(staker);
  if (balance < spec.stake) {
    await (await contracts.token.connect(funder).transfer(staker, spec.stake - balance)).wait();
  }
  await deposit(contracts.token, contracts.escrow, spec.staker, spec.stake, spec.lockPeriods);
  const operator = await spec.operator.getAddress();
  await bondOperator(contracts.escrow, spec.staker, operator);
  if ((await contracts.escrow.pendingOperatorOf(staker)) === operator) {
    await confirmOperator(contracts.escrow, spec.operator, staker);
  }
}

/**
 * The specs of `count` nodes from a development chain's accounts: stakers #1…#count, their operators the next
 * `count` accounts (#0, the deployer, funds them), each locking `stake` for `lockPeriods`.
 */
export function localNodeSpecs(
  signers: readonly Signer[],
  { count = 3, stake, lockPeriods = 60n }: { count?: number; stake: bigint; lockPeriods?: bigint },
): LocalNodeSpec[] {
  if (signers.length < 1 + 2 * count) {
    throw new Error(
      `${count} local nodes need ${1 + 2 * count} accounts (a funder, stakers, operators); the chain has ${signers.length}`,
    );
  }
  return Array.from({ length: count }, (_, i) => ({
    staker: signers[1 + i],
    operator: signers[1 + count + i],
    stake,
    lockPeriods,
  }));
}

/** Stakes and bonds every node of `specs` (funded by `funder`: stakeAndBond), then starts them (startLocalNodes). */
export async function startStakedNodes(
  contracts: LocalContracts,
  funder: Signer,
  specs: LocalNodeSpec[],
  options: Parameters<typeof startLocalNodes>[2] = {},
): Promise<RunningNode[]> {
  for (const spec of specs) await stakeAndBond(contracts, funder, spec);
  return startLocalNodes(contracts, specs, options);
}

/** Starts one node daemon per spec on 127.0.0.1 (free ports), each committing to the next period at once. */
export async function startLocalNodes(
  contracts: LocalContracts,
  specs: LocalNodeSpec[],
  options: { logger?: boolean | { level: string }; policyCacheMs?: number; workers?: number } = {},
): Promise<RunningNode[]> {
  const nodes: RunningNode[] = [];
  // One at a time: each start sends transactions from its own operator, and the in-process chain mines
  // them in order; starting them together would gain nothing and interleave the logs.
  for (const spec of specs) {
    nodes.push(
      await startNode({
        escrow: contracts.escrow,
        policyManager: contracts.policyManager,
        nodeDirectory: contracts.nodeDirectory,
        operator: spec.operator,
        dataDir: spec.dataDir ?? mkdtempSync(path.join(tmpdir(), "kms-node-")),
        commitIntervalMs: 3_600_000,
        policyCacheMs: options.policyCacheMs ?? 0,
        logger: options.logger ?? false,
        cheat: spec.cheat,
        // Nodes started here share one process (and, in tests, its in-process chain): worker threads per node
        // would only compete for the same cores, so they re-encrypt in the main thread unless asked otherwise.
        workers: options.workers ?? 0,
      }),
    );
  }
  return nodes;
}
