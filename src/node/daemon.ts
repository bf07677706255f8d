// The re-encryption node daemon: loads (or creates, from a new BIP-39 mnemonic, or recovers from one) its
// Umbral key, refuses to start when that key is not the announced one or another live node holds the
// announcement, opens its kfrag store, announces itself in the NodeDirectory, serves the HTTP API, commits to
// every next period on its own while its stake allows (the watchdog), keeps a status snapshot of its standing
// on-chain, and sweeps the kfrags of revoked and ended policies out of its store.
import path from "node:path";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { BaseWallet, hexlify, type Signer } from "ethers";
import type { NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import type { SecretKey } from "../umbral";
import { policyViewOf } from "../network/chain";
import { NodeUrlError, parseNodeUrl } from "../network/protocol";
import { KFragStore } from "./store";
import { sendReliably, TransactionStuckError, type SendOptions, type SentAttempt } from "./transactions";
import { sweepKFrags } from "./sweep";
import { ProviderReader } from "../conditions";
import { buildNodeServer, CorsOriginError, type NodeLoggerOptions, type NodeServerLimits } from "./server";
import { confirmedStakerOf } from "../staking";
import {
  checkKeyAgainstAnnouncement,
  isLiveNodeOf,
  localNodeKey,
  MnemonicError,
  newNodeMnemonic,
  nodeKeyFromMnemonic,
  NodeKeyError,
  publicKeyHex,
  writeNodeKey,
  type Announcement,
} from "./identity";
import { NodeMetrics } from "./metrics";
import { OperatorKeyError } from "./attestation";
import { ChainHealth, NodeMonitor } from "./status";
import { version as SOFTWARE_VERSION } from "../../package.json";

/** Raised when the daemon cannot start: not an operator, bad key file, port taken, ... */
export class NodeStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NodeStartError";
  }
}

export interface NodeDaemonOptions {
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  nodeDirectory: NodeDirectory;
  /** The operator's key, connected to a provider. */
  operator: Signer;
  /** Where the Umbral key (`node.key`) and the kfrag store (`kfrags/`) live. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The staker that proposed this operator, to confirm on start; default: found from the escrow's events. */
  staker?: string;
  /** The URL announced on-chain; defaults to http://host:port. */
  publicUrl?: string;
  /** How often the commitment loop checks whether the next period is committed; default 60 s. */
  commitIntervalMs?: number;
  /**
   * Bounds on the node's own transactions (commitments, announcements): how long to wait for a receipt before
   * re-checking the chain and replacing the transaction with a higher fee, and how often. Defaults: 120 s,
   * polled every 2 s, +25 % per replacement, 4 replacements per try.
   */
  transactions?: Pick<SendOptions, "receiptTimeoutMs" | "pollMs" | "feeBumpPercent" | "maxReplacements">;
  /** How often the store is swept of revoked and ended policies' kfrags; default 10 min. */
  sweepIntervalMs?: number;
  /** Longest `stop()` waits for a commitment or sweep in flight before closing anyway; default 5 s. */
  stopTimeoutMs?: number;
  /** How long a policy read from the chain is reused; default 2 s. */
  policyCacheMs?: number;
  /** The PolicyManager's deployment block (policy logs are searched from it); default: found on-chain once. */
  deploymentBlock?: number;
  /** Rate limits, work caps, timeouts and connection caps of the HTTP server (defaults: DEFAULT_LIMITS). */
  limits?: Partial<NodeServerLimits>;
  /** The reverse proxy's address(es) whose X-Forwarded-For is trusted (docs/operations.md); default none. */
  trustProxy?: boolean | string | string[];
  logger?: NodeLoggerOptions;
  /**
   * Worker threads that re-encrypt and sign; default one per core. 0 runs the crypto in the server's thread.
   */
  workers?: number;
  /**
   * The operator's secret key (0x-hex), for the workers to sign cfrag attestations with; taken from `operator`
   * itself when that is an ethers Wallet. Without it, attestations are signed through `operator` (slower).
   */
  operatorKey?: string;
  /** Web origins whose pages may call the node from a browser (CORS), `*` for all; default none. */
  corsOrigins?: readonly string[];
  /** Fault injection for slashing demos/tests: return corrupted (still signed) cfrags. */
  cheat?: boolean;
  /**
   * The recovery phrase of the node's key (`kms node --recover`): the key is derived from it and written to a
   * data dir that has none. A data dir holding another key is refused.
   */
  recoverMnemonic?: string;
  /** Told the 24 words of a key made now (a data dir without a key): shown once, never stored. */
  onNewMnemonic?: (mnemonic: string) => void;
  /** Announce this data dir's key even though another key is announced (the old key's kfrags are orphaned). */
  reannounce?: boolean;
  /** Start even though another live node answers at the announced URL for this staker (it loses the announcement). */
  takeOver?: boolean;
  /** How long to wait for the announced URL to answer when checking whether another node is live; default 2 s. */
  liveCheckTimeoutMs?: number;
  /** How often the status snapshot and the watchdog read the chain; default 15 s. */
  statusIntervalMs?: number;
}

/** A running node. */
export interface RunningNode {
  staker: string;
  operator: string;
  url: string;
  /** Where the node keeps its key and store; start a node on it again to restart it. */
  dataDir: string;
  encryptingKey: SecretKey;
  app: FastifyInstance;
  metrics: NodeMetrics;
  monitor: NodeMonitor;
  /** Commits to the next period now if not yet committed; resolves true if it sent a transaction. */
  commitIfNeeded(): Promise<boolean>;
  /** Deletes the kfrags of revoked and ended policies now; resolves with how many it deleted. */
  sweep(): Promise<number>;
  /** Stops the loops, the server and the store; returns within about `stopTimeoutMs`; safe to call twice. */
  stop(): Promise<void>;
}

/** Resolves after `ms`, or at once when `promise` settles, whichever is first; never rejects. */
const settledWithin = (promise: Promise<unknown> | undefined, ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void (promise ?? Promise.resolve()).catch(() => undefined).finally(() => (clearTimeout(timer), resolve()));
  });

/**
 * The staker whose bonded operator the node's key is, confirming a bond the staker proposed (the second step
 * of bonding) if it is still pending; throws NodeStartError if the key is no staker's operator.
 */
async function bondedStakerOf(escrow: StakingEscrow, options: NodeDaemonOptions, operator: string): Promise<string> {
  const found = await confirmedStakerOf(escrow, options.operator, { staker: options.staker });
  if (!found || (await escrow.operatorOf(found.staker)) !== operator) {
    throw new NodeStartError(`${operator} is not the bonded operator of any staker: bond it first (kms bond-operator)`);
  }
  return found.staker;
}

/**
 * Starts a node; resolves once it listens and has announced itself. The start-up runs in steps: check the
 * operator, open key and store, listen, announce, then start the commitment and sweep loops. A step that
 * fails closes what the earlier ones opened.
 */
export async function startNode(options: NodeDaemonOptions): Promise<RunningNode> {
  const operatorAddress = await options.operator.getAddress();
  const escrow = options.escrow.connect(options.operator);
  const staker = await bondedStakerOf(escrow, options, operatorAddress);
  const transactions = options.transactions ?? {};
  /** Cancels the node's waits on the chain when it stops. */
  const aborter = new AbortController();

  const encryptingKey = await openNodeKey(options, staker);
  const store = await KFragStore.open(path.join(options.dataDir, "kfrags")).catch((cause: unknown) => {
    throw new NodeStartError((cause as Error).message, { cause });
  });
  const { chainId } = await options.operator.provider!.getNetwork();
  const policies = policyViewOf(options.policyManager, {
    cacheMs: options.policyCacheMs ?? 2000,
    fromBlock: options.deploymentBlock,
  });
  const metrics = new NodeMetrics();
  const health = new ChainHealth(metrics);
  let url = "";
  const monitor = new NodeMonitor({
    escrow,
    policyManager: options.policyManager,
    nodeDirectory: options.nodeDirectory,
    provider: options.operator.provider!,
    store,
    metrics,
    health,
    staker,
    operator: operatorAddress,
    url: () => url,
    encryptingKey: publicKeyHex(encryptingKey),
    chainId,
    version: SOFTWARE_VERSION,
  });
  let app: FastifyInstance;
  try {
    app = buildNodeServer({
      identity: {
        staker,
        operator: operatorAddress,
        chainId,
        policyManager: await options.policyManager.getAddress(),
        encryptingKey,
        operatorSigner: options.operator,
        operatorKey: options.operatorKey ?? localKeyOf(options.operator),
        attestation: { chainId, adjudicator: await escrow.adjudicator() },
      },
      store,
      policies,
      logger: options.logger ?? false,
      limits: options.limits,
      trustProxy: options.trustProxy,
      corsOrigins: options.corsOrigins,
      workers: options.workers,
      cheat: options.cheat,
      metrics,
      health,
      monitor,
      // Access conditions are read through the node's own RPC, at the latest block (docs/conditions.md).
      conditions: { reader: new ProviderReader(options.operator.provider!, chainId), publicUrl: () => url },
    });
  } catch (e) {
    await store.close();
    if (e instanceof OperatorKeyError || e instanceof CorsOriginError)
      throw new NodeStartError(e.message, { cause: e });
    throw e;
  }
  const log = app.log;
  reportLostKFrags(store, log);

  const host = options.host ?? "127.0.0.1";
  try {
    let address: string;
    try {
      address = await app.listen({ host, port: options.port ?? 0 });
    } catch (cause) {
      throw new NodeStartError(`cannot listen on ${host}:${options.port}: ${(cause as Error).message}`, { cause });
    }
    url = options.publicUrl ?? address;
    try {
      parseNodeUrl(url);
    } catch (e) {
      if (e instanceof NodeUrlError) throw new NodeStartError(`not announcing: ${e.message}`, { cause: e });
      throw e;
    }
    await refuseIfAnotherNodeIsLive(options, staker, url);
    await announceIfChanged(options, staker, operatorAddress, url, encryptingKey, transactions, aborter.signal, log);
  } catch (e) {
    await app.close();
    await store.close();
    throw e;
  }

  // The commitment loop. A transaction stuck in one try is replaced (same nonce, higher fee) by the next.
  let pendingCommit: SentAttempt | undefined;
  let idleReason: string | undefined;
  async function commitOnce(): Promise<boolean> {
    // The watchdog: an unbonded, unstaked or under-locked node does not send transactions that must revert.
    await monitor.refresh();
    const reason = monitor.notServingReason;
    if (reason) {
      if (reason !== idleReason) log.warn({ staker, reason }, "not committing");
      idleReason = reason;
      return false;
    }
    idleReason = undefined;
    const next = (await escrow.getCurrentPeriod()) + 1n;
    const committed = async () => (await escrow.getCommittedPeriods(staker))[1] >= next;
    if (await committed()) {
      pendingCommit = undefined;
      return false;
    }
    let sent = false;
    try {
      // Naming the staker saves the escrow's operator-map lookup (~1.6k gas per commitment).
      const commitTx = await escrow.commitToNextPeriodFor.populateTransaction(staker);
      const receipt = await sendReliably(options.operator, commitTx, {
        what: `commitment to period ${next}`,
        ...transactions,
        pending: pendingCommit,
        isDone: committed,
        signal: aborter.signal,
        onSent: ({ hash, nonce, replacing }) => {
          sent = true;
          monitor.countCommitment("sent");
          log.info({ staker, period: next.toString(), hash, nonce, replacing }, "commitment sent");
        },
      });
      pendingCommit = undefined;
      if (receipt) monitor.observeCommitmentGas(receipt.gasUsed);
      metrics.commitmentsConfirmed.inc();
      log.info({ staker, period: next.toString(), gas: receipt?.gasUsed.toString() }, "committed to the next period");
      void monitor.refresh().catch(() => undefined);
      return sent;
    } catch (e) {
      if (e instanceof TransactionStuckError) pendingCommit = e.attempt;
      throw e;
    }
  }
  /** One commitment try, its failure counted and reported (once as "chain unreachable" when it is that). */
  function commitTry(first: boolean): Promise<unknown> {
    return commitIfNeeded().catch((e: unknown) => {
      monitor.countCommitment("failed");
      if (health.failed("commitment", e)) return;
      log.warn({ err: e }, first ? "first commitment failed; will retry" : "commitment failed; will retry");
    });
  }
  let committing: Promise<boolean> | undefined;
  /** One commitment at a time: the loop and an explicit call never race to send two. */
  function commitIfNeeded(): Promise<boolean> {
    committing ??= commitOnce().finally(() => (committing = undefined));
    return committing;
  }

  // The sweep loop.
  let sweeping: Promise<number> | undefined;
  function sweep(): Promise<number> {
    sweeping ??= sweepKFrags({
      store,
      policies,
      policyManager: options.policyManager,
      onDeleted: (policyId, reason) => log.info({ policyId, reason }, "kfrag deleted"),
    })
      .then((result) => result.deleted)
      .finally(() => (sweeping = undefined));
    return sweeping;
  }

  const sweepTry = (first: boolean) =>
    sweep().catch((e: unknown) => {
      if (health.failed("sweep", e)) return;
      log.warn({ err: e }, first ? "first sweep failed; will retry" : "sweep failed; will retry");
    });
  await commitTry(true);
  await sweepTry(true);
  const timers = [
    setInterval(() => void commitTry(false), options.commitIntervalMs ?? 60_000),
    setInterval(() => void sweepTry(false), options.sweepIntervalMs ?? 600_000),
    // The status snapshot; a failure is already recorded by the health tracker.
    setInterval(() => void monitor.refresh().catch(() => undefined), options.statusIntervalMs ?? 15_000),
  ];
  for (const timer of timers) timer.unref();

  let stopped: Promise<void> | undefined;
  return {
    staker,
    operator: operatorAddress,
    url,
    dataDir: options.dataDir,
    encryptingKey,
    app,
    metrics,
    monitor,
    commitIfNeeded,
    sweep,
    stop() {
      stopped ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        aborter.abort();
        // A commitment waits on the chain in bounded steps and stops at the abort; an RPC call that hangs
        // does not hold the node: after stopTimeoutMs it closes anyway.
        await settledWithin(Promise.all([committing, sweeping, monitor.inFlight]), options.stopTimeoutMs ?? 5_000);
        await app.close();
        await store.close();
        log.info({ staker }, "node stopped");
      })();
      return stopped;
    },
  };
}

/** The secret key of a signer that holds one in this process (an ethers Wallet), else undefined. */
function localKeyOf(signer: Signer): string | undefined {
  return signer instanceof BaseWallet ? signer.privateKey : undefined;
}

/**
 * The node's Umbral key: the data dir's, or the one the recovery phrase gives, or, for a data dir without one,
 * a key made now from a new mnemonic (handed to `onNewMnemonic`). Checked against the staker's announcement
 * first, so a wrong data dir is refused before anything is written (NodeStartError).
 */
async function openNodeKey(options: NodeDaemonOptions, staker: string): Promise<SecretKey> {
  try {
    const local = localNodeKey(options.dataDir, options.recoverMnemonic);
    const record = await options.nodeDirectory.nodeOf(staker);
    const announced: Announcement = { url: record.url, encryptingKey: record.encryptingKey.toLowerCase() };
    checkKeyAgainstAnnouncement(staker, local.key, announced, options.reannounce ?? false);
    if (local.key) {
      if (local.recovered) writeNodeKey(options.dataDir, local.key);
      return local.key;
    }
    const mnemonic = newNodeMnemonic();
    const key = nodeKeyFromMnemonic(mnemonic);
    writeNodeKey(options.dataDir, key);
    options.onNewMnemonic?.(mnemonic);
    return key;
  } catch (e) {
    if (e instanceof NodeKeyError || e instanceof MnemonicError || (e as Error).name === "KeyFileError") {
      throw new NodeStartError((e as Error).message, { cause: e });
    }
    throw e;
  }
}

/**
 * Refuses to start while another node serves this staker at the announced URL (it answers `/v1/status`
 * naming the staker), unless `takeOver`: two nodes would split the staker's kfrags between two keys or stores.
 */
async function refuseIfAnotherNodeIsLive(options: NodeDaemonOptions, staker: string, url: string): Promise<void> {
  if (options.takeOver) return;
  const record = await options.nodeDirectory.nodeOf(staker);
  const announced = record.url.replace(/\/+$/, "");
  if (announced === "" || announced === url.replace(/\/+$/, "")) return;
  if (await isLiveNodeOf(announced, staker, options.liveCheckTimeoutMs ?? 2_000)) {
    throw new NodeStartError(
      `another node of staker ${staker} is live at ${announced} (the announced URL); stop it first, or start this ` +
        `one with --take-over to move the announcement here`,
    );
  }
}

/** Announces `url` and the encrypting key in the NodeDirectory unless the record says so already (no gas). */
async function announceIfChanged(
  options: NodeDaemonOptions,
  staker: string,
  operator: string,
  url: string,
  encryptingKey: SecretKey,
  transactions: NodeDaemonOptions["transactions"],
  signal: AbortSignal,
  log: FastifyBaseLogger,
): Promise<void> {
  const keyHex = hexlify(encryptingKey.publicKey().toCompressedBytes());
  const directory = options.nodeDirectory.connect(options.operator);
  const current = async () => {
    const record = await directory.nodeOf(staker);
    return record.url === url && record.encryptingKey.toLowerCase() === keyHex && record.operator === operator;
  };
  if (await current()) return;
  await sendReliably(options.operator, await directory.announce.populateTransaction(url, keyHex), {
    what: "announcement in the NodeDirectory",
    ...transactions,
    isDone: current,
    signal,
  }).catch((cause: unknown) => {
    throw new NodeStartError(`cannot announce the node: ${(cause as Error).message}`, { cause });
  });
  log.info({ staker, url }, "announced in the NodeDirectory");
}

/** Says loudly, at open and whenever a read finds one, that the store lost a kfrag it acknowledged. */
function reportLostKFrags(store: KFragStore, log: FastifyBaseLogger): void {
  const lost = store.lost();
  if (lost.length) {
    log.error(
      { lostKFrags: lost.length, policyIds: lost.slice(0, 100) },
      "KFRAG STORE DAMAGED: kfrags this node acknowledged are missing; their owners must re-deliver them",
    );
  }
  store.onLost((policyId) =>
    log.error({ policyId }, "KFRAG STORE DAMAGED: a kfrag this node acknowledged is missing; re-delivery needed"),
  );
}
