// `kms node-doctor`: a node's self-test from outside its process. Each check is one line: ok, or what is wrong
// and what to do. It reads the chain and asks the announced URL what a client would ask; it sends nothing.
import { formatEther, ZeroAddress, type Provider } from "ethers";
import type { NodeDirectory, StakingEscrow } from "../../typechain-types";
import { nodeEndpoint, type NodeStatus } from "../network/protocol";
import { DEFAULT_COMMITMENT_GAS, shortReason } from "./status";

/** One line of the report. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was found, and when not ok what to do. */
  detail: string;
}

export interface DoctorOptions {
  escrow: StakingEscrow;
  nodeDirectory: NodeDirectory;
  provider: Provider;
  operator: string;
  /** How many next periods the lock and the operator's balance must cover; default 7. */
  periods?: number;
  /** Largest accepted gap between the chain's clock and this machine's, in seconds; default 300. */
  maxClockSkewSeconds?: number;
  /** How long the announced URL has to answer; default 5 s. */
  timeoutMs?: number;
}

/** Runs every check; a check that cannot run (the chain unreachable) is reported as failed, never thrown. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { escrow, nodeDirectory, provider, operator } = options;
  const periods = options.periods ?? 7;
  const checks: DoctorCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // The chain and its clock.
  let latest;
  try {
    latest = await provider.getBlock("latest");
    if (!latest) throw new Error("no latest block");
  } catch (e) {
    add("chain", false, `the RPC does not answer (${shortReason(e)}): check the node's RPC URL and that it is up`);
    return checks;
  }
  const { chainId } = await provider.getNetwork();
  add("chain", true, `chain ${chainId} answers, latest block ${latest.number}`);
  const skew = latest.timestamp - Math.floor(Date.now() / 1000);
  const maxSkew = options.maxClockSkewSeconds ?? 300;
  add(
    "clock",
    Math.abs(skew) <= maxSkew,
    Math.abs(skew) <= maxSkew
      ? `the latest block is ${Math.abs(skew)} s ${skew >= 0 ? "ahead of" : "behind"} this machine's clock`
      : `the latest block's time is ${skew} s off this machine's clock (more than ${maxSkew} s): sync the clock ` +
          `(NTP), or the chain is stalled or was moved in time (kms advance-periods)`,
  );

  // The bond.
  const staker = await escrow.stakerFromOperator(operator);
  if (staker === ZeroAddress) {
    add("bond", false, `${operator} is no staker's confirmed operator: bond it (kms bond-operator) and start the node`);
    return checks;
  }
  const info = await escrow.getStakerInfo(staker);
  const bonded = info.operator === operator && info.operatorConfirmed;
  add(
    "bond",
    bonded,
    bonded
      ? `operator of staker ${staker}, confirmed`
      : `staker ${staker}'s operator is ${info.operator}${info.operatorConfirmed ? "" : " (unconfirmed)"}: ` +
          `bond this one again (kms bond-operator) and start the node to confirm`,
  );

  // The lock: committing to period p needs unlockPeriod > p + minOperatorPeriods.
  const [current, window] = await Promise.all([escrow.getCurrentPeriod(), escrow.minOperatorPeriods()]);
  const needed = current + BigInt(periods) + window + 1n;
  const lockOk = info.lockedValue > 0n && info.unlockPeriod >= needed;
  add(
    "lock",
    lockOk,
    lockOk
      ? `lock until period ${info.unlockPeriod} covers commitments through period ${current + BigInt(periods)}`
      : `the lock (until period ${info.unlockPeriod}) does not cover commitments through period ` +
          `${current + BigInt(periods)} (needs ${needed}): prolong it (kms lock)`,
  );

  // Gas for the next commitments.
  const [balance, fees] = await Promise.all([provider.getBalance(operator), provider.getFeeData()]);
  const perCommitment = DEFAULT_COMMITMENT_GAS * (fees.maxFeePerGas ?? fees.gasPrice ?? 0n);
  const gasOk = balance >= perCommitment * BigInt(periods);
  add(
    "gas",
    gasOk,
    gasOk
      ? `${formatEther(balance)} ETH pays for ${perCommitment > 0n ? balance / perCommitment : "unlimited"} commitments`
      : `${formatEther(balance)} ETH does not pay for ${periods} commitments ` +
          `(~${formatEther(perCommitment)} ETH each): send ETH to ${operator}`,
  );

  // Committing.
  const committed = info.lastCommittedPeriod > current;
  add(
    "commitment",
    committed,
    committed
      ? `committed to period ${info.lastCommittedPeriod}`
      : `not committed to period ${current + 1n} (last: ${info.lastCommittedPeriod || "never"}): is the node running?`,
  );

  // The announcement, asked from outside the node's process.
  const record = await nodeDirectory.nodeOf(staker);
  if (record.url === "") {
    add("announcement", false, `staker ${staker} never announced a node: start it (kms node)`);
    return checks;
  }
  let served: NodeStatus | undefined;
  let why = "";
  try {
    const response = await fetch(nodeEndpoint(record.url, "v1", "status"), {
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (response.ok) served = (await response.json()) as NodeStatus;
    else why = `it answered HTTP ${response.status}`;
  } catch (e) {
    why = shortReason((e as Error).cause ?? e);
  }
  if (!served) {
    add(
      "reachable",
      false,
      `the announced URL ${record.url} does not answer (${why}): is the node up, and the port open to clients?`,
    );
    return checks;
  }
  add("reachable", true, `${record.url} answers`);
  const keyOk = served.encryptingKey.toLowerCase() === record.encryptingKey.toLowerCase();
  const stakerOk = served.staker.toLowerCase() === staker.toLowerCase();
  add(
    "key",
    keyOk && stakerOk,
    keyOk && stakerOk
      ? `it serves the announced key ${record.encryptingKey}`
      : `it serves ${stakerOk ? "" : `staker ${served.staker}, `}key ${served.encryptingKey}, but the announced key is ` +
          `${record.encryptingKey}: another node answers there, or restart this one (it re-announces)`,
  );
  if (served.chain) {
    add(
      "node's chain",
      served.chain.reachable,
      served.chain.reachable
        ? "the node reaches its RPC"
        : `the node cannot reach its RPC (${served.chain.error}): check its RPC URL`,
    );
  }
  return checks;
}

/** The report as lines: `ok    name  detail` or `FAIL  name  detail`. */
export function formatDoctor(checks: DoctorCheck[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}  ${c.detail}`);
}
