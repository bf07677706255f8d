// The re-encryption node daemon: loads (or creates) its Umbral key, opens its kfrag store, announces itself
// in the NodeDirectory, serves the HTTP API, and commits to every next period on its own.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { hexlify, type Signer } from "ethers";
import type { NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { SecretKey } from "../umbral";
import { policyViewOf } from "../network/chain";
import { KFragStore } from "./store";
import { createKeyFile, readSecretKeyFile } from "../client/keys";
import { buildNodeServer } from "./server";

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
  /** The URL announced on-chain; defaults to http://host:port. */
  publicUrl?: string;
  /** How often the commitment loop checks whether the next period is committed; default 60 s. */
  commitIntervalMs?: number;
  /** How long a policy read from the chain is reused; default 2 s. */
  policyCacheMs?: number;
  logger?: FastifyBaseLogger | boolean | { level: string };
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
  /** Stops the loop, the server and the store; safe to call twice. */
  stop(): Promise<void>;
}

/** Reads the node's Umbral secret key from `dataDir/node.key`, creating it (mode 0600) on first start. */
export function loadOrCreateNodeKey(dataDir: string): SecretKey {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "node.key");
  if (!existsSync(file)) createKeyFile(file);
  return readSecretKeyFile(file);
}

/** Starts a node; resolves once it listens and has announced itself. */
export async function startNode(options: NodeDaemonOptions): Promise<RunningNode> {
  const operatorAddress = await options.operator.getAddress();
  const escrow = options.escrow.connect(options.operator);
  const staker = await escrow.stakerFromOperator(operatorAddress);
  if (
    staker === "0x0000000000000000000000000000000000000000" ||
    (await escrow.operatorOf(staker)) !== operatorAddress
  ) {
    throw new NodeStartError(
      `${operatorAddress} is not the bonded operator of any staker: bond it first (kms bond-operator)`,
    );
  }
  const encryptingKey = loadOrCreateNodeKey(options.dataDir);
  const store = await KFragStore.open(path.join(options.dataDir, "kfrags")).catch((cause: unknown) => {
    throw new NodeStartError((cause as Error).message, { cause });
  });
  const { chainId } = await options.operator.provider!.getNetwork();
  const app = buildNodeServer({
    identity: {
      staker,
      operator: operatorAddress,
      chainId,
      policyManager: await options.policyManager.getAddress(),
      encryptingKey,
      operatorSigner: options.operator,
    },
    store,
    policies: policyViewOf(options.policyManager, { cacheMs: options.policyCacheMs ?? 2000 }),
    logger: options.logger === undefined ? false : (options.logger as FastifyBaseLogger | boolean),
    cheat: options.cheat,
  });
  const host = options.host ?? "127.0.0.1";
  let address: string;
  try {
    address = await app.listen({ host, port: options.port ?? 0 });
  } catch (cause) {
    await store.close();
    throw new NodeStartError(`cannot listen on ${host}:${options.port}: ${(cause as Error).message}`, { cause });
  }
  const url = options.publicUrl ?? address;
  const log = app.log;

  // Announce only when the on-chain record differs, so restarts cost no gas.
  const keyHex = hexlify(encryptingKey.publicKey().toCompressedBytes());
  const record = await options.nodeDirectory.nodeOf(staker);
  if (record.url !== url || record.encryptingKey.toLowerCase() !== keyHex || record.operator !== operatorAddress) {
    await (await options.nodeDirectory.connect(options.operator).announce(url, keyHex)).wait();
    log.info({ staker, url }, "announced in the NodeDirectory");
  }

  let committing: Promise<boolean> | undefined;
  async function commitOnce(): Promise<boolean> {
    const next = (await escrow.getCurrentPeriod()) + 1n;
    const [, last] = await escrow.getCommittedPeriods(staker);
    if (last >= next) return false;
    const receipt = await (await escrow.commitToNextPeriod()).wait();
    log.info({ staker, period: next.toString(), gas: receipt?.gasUsed.toString() }, "committed to the next period");
    return true;
  }
  /** One commitment at a time: the loop and an explicit call never race to send two. */
  function commitIfNeeded(): Promise<boolean> {
    committing ??= commitOnce().finally(() => (committing = undefined));
    return committing;
  }
  await commitIfNeeded().catch((e: unknown) => log.warn({ err: e }, "first commitment failed; will retry"));
  const timer = setInterval(() => {
    commitIfNeeded().catch((e: unknown) => log.warn({ err: e }, "commitment failed; will retry"));
  }, options.commitIntervalMs ?? 60_000);
  timer.unref();

  let stopped: Promise<void> | undefined;
  return {
    staker,
    operator: operatorAddress,
    url,
    dataDir: options.dataDir,
    encryptingKey,
    app,
    commitIfNeeded,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await committing?.catch(() => undefined);
        await app.close();
        await store.close();
        log.info({ staker }, "node stopped");
      })();
      return stopped;
    },
  };
}
