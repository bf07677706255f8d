// The re-encryption node daemon: loads (or creates) its Umbral key, opens its kfrag store, announces itself
// in the NodeDirectory, serves the HTTP API, commits to every next period on its own, and sweeps the kfrags
// of revoked and ended policies out of its store.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { hexlify, type Signer } from "ethers";
import type { NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { SecretKey } from "../umbral";
import { policyViewOf } from "../network/chain";
import { NodeUrlError, parseNodeUrl } from "../network/protocol";
import { KFragStore } from "./store";
import { sendReliably, TransactionStuckError, type SendOptions, type SentAttempt } from "./transactions";
import { sweepKFrags } from "./sweep";
import { createKeyFile, readSecretKeyFile } from "../client/keys";
import { buildNodeServer, type NodeLoggerOptions, type NodeServerLimits } from "./server";
import { confirmedStakerOf } from "../staking";

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
  /** Fault injection for slashing demos/tests: return corrupted (still signed) cfrags. */
  cheat?: boolean;
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
  /** Commits to the next period now if not yet committed; resolves true if it sent a transaction. */
  commitIfNeeded(): Promise<boolean>;
  /** Deletes the kfrags of revoked and ended policies now; resolves with how many it deleted. */
  sweep(): Promise<number>;
  /** Stops the loops, the server and the store; returns within about `stopTimeoutMs`; safe to call twice. */
  stop(): Promise<void>;
}

/** Reads the node's Umbral secret key from `dataDir/node.key`, creating it (mode 0600) on first start. */
export function loadOrCreateNodeKey(dataDir: string): SecretKey {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "node.key");
  if (!existsSync(file)) createKeyFile(file);
  return readSecretKeyFile(file);
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

  const encryptingKey = loadOrCreateNodeKey(options.dataDir);
  const store = await KFragStore.open(path.join(options.dataDir, "kfrags")).catch((cause: unknown) => {
    throw new NodeStartError((cause as Error).message, { cause });
  });
  const { chainId } = await options.operator.provider!.getNetwork();
  const policies = policyViewOf(options.policyManager, {
    cacheMs: options.policyCacheMs ?? 2000,
    fromBlock: options.deploymentBlock,
  });
  const app = buildNodeServer({
    identity: {
      staker,
      operator: operatorAddress,
      chainId,
      policyManager: await options.policyManager.getAddress(),
      encryptingKey,
      operatorSigner: options.operator,
      attestation: { chainId, adjudicator: await escrow.adjudicator() },
    },
    store,
    policies,
    logger: options.logger ?? false,
    limits: options.limits,
    trustProxy: options.trustProxy,
    cheat: options.cheat,
  });
  const log = app.log;
  reportLostKFrags(store, log);

  const host = options.host ?? "127.0.0.1";
  let url: string;
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
    await announceIfChanged(options, staker, operatorAddress, url, encryptingKey, transactions, aborter.signal, log);
  } catch (e) {
    await app.close();
    await store.close();
    throw e;
  }

  // The commitment loop. A transaction stuck in one try is replaced (same nonce, higher fee) by the next.
  let pendingCommit: SentAttempt | undefined;
  async function commitOnce(): Promise<boolean> {
    const next = (await escrow.getCurrentPeriod()) + 1n;
    const committed = async () => (await escrow.getCommittedPeriods(staker))[1] >= next;
    if (await committed()) {
      pendingCommit = undefined;
      return false;
    }
    let sent = false;
    try {
      const receipt = await sendReliably(options.operator, await escrow.commitToNextPeriod.populateTransaction(), {
        what: `commitment to period ${next}`,
        ...transactions,
        pending: pendingCommit,
        isDone: committed,
        signal: aborter.signal,
        onSent: ({ hash, nonce, replacing }) => {
          sent = true;
          log.info({ staker, period: next.toString(), hash, nonce, replacing }, "commitment sent");
        },
      });
      pendingCommit = undefined;
      log.info({ staker, period: next.toString(), gas: receipt?.gasUsed.toString() }, "committed to the next period");
      return sent;
    } catch (e) {
      if (e instanceof TransactionStuckError) pendingCommit = e.attempt;
      throw e;
    }
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

  await commitIfNeeded().catch((e: unknown) => log.warn({ err: e }, "first commitment failed; will retry"));
  await sweep().catch((e: unknown) => log.warn({ err: e }, "first sweep failed; will retry"));
  const timers = [
    setInterval(() => {
      commitIfNeeded().catch((e: unknown) => log.warn({ err: e }, "commitment failed; will retry"));
    }, options.commitIntervalMs ?? 60_000),
    setInterval(() => {
      sweep().catch((e: unknown) => log.warn({ err: e }, "sweep failed; will retry"));
    }, options.sweepIntervalMs ?? 600_000),
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
    commitIfNeeded,
    sweep,
    stop() {
      stopped ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        aborter.abort();
        // A commitment waits on the chain in bounded steps and stops at the abort; an RPC call that hangs
        // does not hold the node: after stopTimeoutMs it closes anyway.
        await settledWithin(Promise.all([committing, sweeping]), options.stopTimeoutMs ?? 5_000);
        await app.close();
        await store.close();
        log.info({ staker }, "node stopped");
      })();
      return stopped;
    },
  };
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
