// What a node knows about itself and its standing on-chain: the chain's health as the node sees it, a
// periodically refreshed snapshot of its stake, commitments, rewards, balance and announcement (so that
// `GET /v1/status` and `GET /status` cost no RPC call), and the watchdog that stops a node from committing
// and accepting kfrags once it is unbonded, unstaked or its lock no longer covers the next period.
import type { FastifyBaseLogger } from "fastify";
import { formatEther, type Provider } from "ethers";
import type { NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import type { KFragStore } from "./store";
import type { NodeMetrics } from "./metrics";
import { formatKms } from "../units";
import type { NodeStatus } from "../network/protocol";

/** Gas a commitment is assumed to cost until the node has seen one mined (commit + mint, docs/gas.md). */
export const DEFAULT_COMMITMENT_GAS = 100_000n;

/** The words of an RPC failure that say the chain could not be reached (not that a call reverted). */
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|socket hang up|other side closed|UND_ERR_(SOCKET|CLOSED|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT)|fetch failed|cannot connect|connection|network|timeout|HH108|HH110/i;

/** Whether `error` says the RPC endpoint could not be reached or did not answer. */
export function isUnreachable(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.code === "NETWORK_ERROR" || e.code === "TIMEOUT" || e.code === "SERVER_ERROR") return true;
    if (typeof e.code === "string" && UNREACHABLE.test(e.code)) return true;
    if (typeof e.message === "string" && UNREACHABLE.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** The first line of an error's message, shortened: what a log line or a 503 says about the cause. */
export function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n")[0].trim();
  return line.length > 200 ? line.slice(0, 197) + "…" : line;
}

/**
 * The chain as the node sees it: reachable until a call fails for want of a connection, reachable again on the
 * next call that succeeds. Each change is logged once ("chain unreachable" / "chain reachable again"), not
 * each failed call, and counted in the metrics.
 */
export class ChainHealth {
  private down: { reason: string; since: number } | undefined;
  private log: Pick<FastifyBaseLogger, "info" | "error"> = { info: () => undefined, error: () => undefined };

  constructor(private readonly metrics: NodeMetrics) {}

  /** Where changes are logged (the node server's logger, once it exists). */
  attachLog(log: Pick<FastifyBaseLogger, "info" | "error">): void {
    this.log = log;
  }

  get reachable(): boolean {
    return this.down === undefined;
  }

  /** Why the chain is unreachable, while it is. */
  get reason(): string | undefined {
    return this.down?.reason;
  }

  /** A call to the chain succeeded. */
  ok(): void {
    this.metrics.chainReachable.set(1);
    if (!this.down) return;
    const seconds = Math.round((Date.now() - this.down.since) / 1000);
    this.down = undefined;
    this.log.info({ downSeconds: seconds }, "chain reachable again");
  }

  /** A call to the chain during `operation` failed with `error`; returns whether it was for want of a connection. */
  failed(operation: string, error: unknown): boolean {
    this.metrics.chainErrors.inc({ operation });
    if (!isUnreachable(error)) return false;
    this.metrics.chainReachable.set(0);
    if (!this.down) {
      this.down = { reason: shortReason(error), since: Date.now() };
      this.log.error(
        { operation, reason: this.down.reason },
        "chain unreachable: the node cannot reach its Ethereum RPC",
      );
    }
    return true;
  }

  /** Runs `read` against the chain, recording its success or failure; rethrows the failure. */
  async track<T>(operation: string, read: () => Promise<T>): Promise<T> {
    try {
      const value = await read();
      this.ok();
      return value;
    } catch (e) {
      this.failed(operation, e);
      throw e;
    }
  }
}

/** What the node last read from the chain about itself. */
export interface ChainSnapshot {
  readAt: number;
  latestBlock: number;
  blockTime: number;
  periodSeconds: number;
  currentPeriod: number;
  lastCommittedPeriod: number;
  stake: bigint;
  lockedValue: bigint;
  unlockPeriod: number;
  operatorOfStaker: string;
  pendingReward: bigint;
  pendingFees: bigint;
  operatorBalance: bigint;
  commitmentsPaidFor: number;
  missedCommitments: number;
  livePolicies: number;
  announced: { url: string; encryptingKey: string };
}

export interface NodeMonitorOptions {
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  nodeDirectory: NodeDirectory;
  provider: Provider;
  store: KFragStore;
  metrics: NodeMetrics;
  health: ChainHealth;
  staker: string;
  operator: string;
  /** This node's URL and encrypting key (lower-case hex), to compare with the announcement. */
  url: () => string;
  encryptingKey: string;
  chainId: bigint;
  version: string;
}

/** Longest run of past periods looked up for missed commitments in one refresh. */
const MISSED_LOOKUPS_PER_REFRESH = 64;

/** Keeps the node's chain snapshot fresh and decides whether the node may commit and accept kfrags. */
export class NodeMonitor {
  private snapshotValue: ChainSnapshot | undefined;
  private refreshing: Promise<ChainSnapshot> | undefined;
  private readonly startedAt = Date.now();
  private startPeriod: number | undefined;
  /** Periods already judged: committed (false) or missed (true). Final once the period has begun. */
  private readonly judged = new Map<number, boolean>();
  /** The escrow's immutable period length and accountability window, read once. */
  private constants: { periodSeconds: bigint; minOperatorPeriods: bigint } | undefined;
  private commitmentGas = DEFAULT_COMMITMENT_GAS;
  private dutyReason: string | undefined;
  private served = 0;
  private failed = 0;
  private readonly commitments = { sent: 0, failed: 0 };

  private log: Pick<FastifyBaseLogger, "info" | "error"> = { info: () => undefined, error: () => undefined };

  constructor(private readonly options: NodeMonitorOptions) {}

  /** Where watchdog changes are logged (the node server's logger, once it exists). */
  attachLog(log: Pick<FastifyBaseLogger, "info" | "error">): void {
    this.log = log;
  }

  get snapshot(): ChainSnapshot | undefined {
    return this.snapshotValue;
  }

  /** The refresh in flight, if any (the daemon waits for it, bounded, when it stops). */
  get inFlight(): Promise<unknown> | undefined {
    return this.refreshing;
  }

  /** Why the node does not commit or accept kfrags now, or undefined while it does. */
  get notServingReason(): string | undefined {
    return this.dutyReason;
  }

  /** Counts one answered API request (status and metrics excluded). */
  countRequest(ok: boolean): void {
    if (ok) this.served++;
    else this.failed++;
  }

  /** Counts a commitment transaction sent, or a commitment try that failed (and the metrics with it). */
  countCommitment(what: "sent" | "failed"): void {
    this.commitments[what]++;
    if (what === "sent") this.options.metrics.commitmentsSent.inc();
    else this.options.metrics.commitmentsFailed.inc();
  }

  /** Records the gas a mined commitment used, for the "commitments paid for" estimate. */
  observeCommitmentGas(gas: bigint): void {
    if (gas > 0n) this.commitmentGas = gas;
  }

  /** Reads the chain anew (one refresh at a time); rejects, keeping the old snapshot, if the chain fails. */
  refresh(): Promise<ChainSnapshot> {
    this.refreshing ??= this.options.health
      .track("status refresh", () => this.read())
      .then((snapshot) => {
        this.snapshotValue = snapshot;
        this.judgeDuty(snapshot);
        return snapshot;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async read(): Promise<ChainSnapshot> {
    const { escrow, policyManager, nodeDirectory, provider, staker, operator } = this.options;
    if (!this.constants) {
      const [periodSeconds, minOperatorPeriods] = await Promise.all([
        escrow.periodDuration(),
        escrow.minOperatorPeriods(),
      ]);
      this.constants = { periodSeconds, minOperatorPeriods };
    }
    const { periodSeconds } = this.constants;
    const [block, current, info, pendingReward, pendingFees, balance, fees, record] = await Promise.all([
      provider.getBlock("latest"),
      escrow.getCurrentPeriod(),
      escrow.getStakerInfo(staker),
      escrow.pendingReward(staker),
      policyManager.pendingFees(staker),
      provider.getBalance(operator),
      provider.getFeeData(),
      nodeDirectory.nodeOf(staker),
    ]);
    if (!block) throw new Error("the provider returned no latest block");
    const currentPeriod = Number(current);
    this.startPeriod ??= currentPeriod;
    const feePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
    const perCommitment = this.commitmentGas * feePerGas;
    const commitmentsPaidFor = perCommitment > 0n ? Number(balance / perCommitment) : Number.MAX_SAFE_INTEGER;

    // A period p the node was running before (p > startPeriod) is missed if it is not committed to by the time
    // it began: commitments to p are sent during p - 1, so periods up to the current one are final.
    let lookups = 0;
    for (let p = this.startPeriod + 1; p <= currentPeriod && lookups < MISSED_LOOKUPS_PER_REFRESH; p++) {
      if (this.judged.has(p)) continue;
      lookups++;
      this.judged.set(p, !(await policyManager.hasCommitted(staker, p)));
    }
    const missedCommitments = [...this.judged.values()].filter(Boolean).length;

    let livePolicies = 0;
    for (const policyId of this.options.store.policyIds()) {
      if (!this.options.store.has(policyId)) continue;
      const held = await this.options.store.get(policyId);
      if (held && (held.endPeriod === undefined || BigInt(held.endPeriod) > current)) livePolicies++;
    }

    const snapshot: ChainSnapshot = {
      readAt: Date.now(),
      latestBlock: block.number,
      blockTime: block.timestamp,
      periodSeconds: Number(periodSeconds),
      currentPeriod,
      lastCommittedPeriod: Number(info.lastCommittedPeriod),
      stake: info.stake,
      lockedValue: info.lockedValue,
      unlockPeriod: Number(info.unlockPeriod),
      operatorOfStaker: info.operator,
      pendingReward,
      pendingFees,
      operatorBalance: balance,
      commitmentsPaidFor,
      missedCommitments,
      livePolicies,
      announced: { url: record.url, encryptingKey: record.encryptingKey.toLowerCase() },
    };
    const { metrics } = this.options;
    metrics.operatorBalance.set(Number(formatEther(balance)));
    metrics.commitmentsPaidFor.set(commitmentsPaidFor);
    metrics.missedCommitments.set(missedCommitments);
    return snapshot;
  }

  /** The watchdog: whether the node may still commit and accept kfrags, logged when that changes. */
  private judgeDuty(snapshot: ChainSnapshot): void {
    const { staker, operator, metrics } = this.options;
    const log = this.log;
    const minOperatorPeriods = this.constants!.minOperatorPeriods;
    const next = snapshot.currentPeriod + 1;
    let reason: string | undefined;
    if (snapshot.operatorOfStaker.toLowerCase() !== operator.toLowerCase()) {
      reason = `operator ${operator} is no longer bonded to staker ${staker}`;
    } else if (snapshot.stake === 0n) {
      reason = `staker ${staker} has withdrawn its stake`;
    } else if (snapshot.lockedValue === 0n || next + Number(minOperatorPeriods) >= snapshot.unlockPeriod) {
      reason =
        `staker ${staker}'s lock (until period ${snapshot.unlockPeriod}) no longer covers a commitment to period ` +
        `${next}; prolong it (kms lock) to serve again`;
    }
    if (reason === this.dutyReason) return;
    this.dutyReason = reason;
    metrics.serving.set(reason ? 0 : 1);
    if (reason) log.error({ staker, reason }, `not committing and accepting no new kfrags: ${reason}`);
    else log.info({ staker }, "bonded, staked and locked: committing and accepting kfrags again");
  }

  /**
   * The whole status: what the node knows locally now, and the last chain snapshot. `currentPeriod` is the
   * snapshot's unless `livePeriod` (the policy view's, computed locally) is given.
   */
  async status(livePeriod?: number): Promise<NodeStatus> {
    const options = this.options;
    const snap = this.snapshotValue;
    const announced = snap?.announced;
    const keyMatches = announced ? announced.encryptingKey === options.encryptingKey.toLowerCase() : null;
    const urlMatches = announced ? announced.url.replace(/\/+$/, "") === options.url().replace(/\/+$/, "") : null;
    const last = snap?.lastCommittedPeriod ?? null;
    return {
      staker: options.staker,
      operator: options.operator,
      encryptingKey: options.encryptingKey,
      chainId: options.chainId.toString(),
      contracts: {
        escrow: await options.escrow.getAddress(),
        policyManager: await options.policyManager.getAddress(),
        nodeDirectory: await options.nodeDirectory.getAddress(),
      },
      currentPeriod: livePeriod ?? snap?.currentPeriod ?? -1,
      kfrags: await options.store.count(),
      deletedKFrags: options.store.deleted(),
      lostKFrags: options.store.lost().length,
      version: options.version,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      url: options.url(),
      chain: {
        reachable: options.health.reachable,
        error: options.health.reason ?? null,
        readAt: snap ? new Date(snap.readAt).toISOString() : null,
        latestBlock: snap?.latestBlock ?? null,
        blockTime: snap ? new Date(snap.blockTime * 1000).toISOString() : null,
      },
      periodSeconds: snap?.periodSeconds ?? null,
      commitments: {
        lastCommittedPeriod: last === 0 ? null : last,
        nextCommittedPeriod: snap && last !== null && last > snap.currentPeriod ? last : null,
        missed: snap?.missedCommitments ?? 0,
        sent: this.commitments.sent,
        failed: this.commitments.failed,
      },
      stake: {
        stakedKms: snap ? formatKms(snap.stake) : null,
        lockedKms: snap ? formatKms(snap.lockedValue) : null,
        lockEndPeriod: snap ? snap.unlockPeriod : null,
      },
      rewards: {
        pendingRewardKms: snap ? formatKms(snap.pendingReward) : null,
        pendingFeesKms: snap ? formatKms(snap.pendingFees) : null,
      },
      operatorBalance: {
        eth: snap ? formatEther(snap.operatorBalance) : null,
        commitmentsPaidFor: snap ? snap.commitmentsPaidFor : null,
      },
      livePolicies: snap?.livePolicies ?? null,
      requests: { served: this.served, failed: this.failed },
      announcement: {
        url: announced?.url ?? null,
        encryptingKey: announced?.encryptingKey ?? null,
        urlMatches,
        keyMatches,
      },
      acceptingKFrags: this.dutyReason === undefined,
      notAcceptingReason: this.dutyReason ?? null,
    };
  }
}
