// The re-encryption node's HTTP API (fastify, JSON-schema validated):
//   GET  /v1/status                         who the node is, its health and standing on-chain (JSON)
//   GET  /status                            the same for people (HTML, no external assets)
//   GET  /metrics                           Prometheus metrics
//   POST /v1/policies/:policyId/kfrag       Alice delivers a kfrag, encrypted to the node, signed by the owner
//   POST /v1/policies/:policyId/conditions  Alice sends a newer signed access-condition set alone
//   POST /v1/policies/:policyId/reencrypt   Bob asks for cfrags of up to 32 capsules
// A policy's access conditions (docs/conditions.md) come only from its owner: signed, matching the on-chain
// commitment, stored with the kfrag; every re-encryption request is judged by them (authorizeRequest) and by
// the commitment's current version, never by anything the requester sends but the proof of his address.
// Every check against the chain (policy exists, lists this node, not revoked, not expired, owner signed) is
// made on each request: the chain is the source of truth, the store only a cache of what Alice sent. When the
// chain cannot be read the node answers 503 CHAIN_UNREACHABLE with the reason and Retry-After (never 500).
//
// Browsers: with `corsOrigins` set, the public endpoints answer pages of those origins (CORS, `@fastify/cors`),
// refusals included, with Retry-After readable; `/metrics` never does.
//
// Against hostile clients (docs/operations.md): a request rate per client address (429), a cap on the
// re-encryption work in flight per client (429) and in all (503), both with Retry-After; the crypto runs one
// capsule at a time in arrival order with the event loop given back in between; header, request, idle and
// keep-alive timeouts; a cap on connections in all and per client address. Logs at info level carry no client
// address, so they do not link a client to the policies it asks about.
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import cors from "@fastify/cors";
import { getBytes as hexBytes, hexlify as toHex, verifyMessage, ZeroHash, type Signer } from "ethers";
import type { KFragStore } from "./store";
import {
  POLICY_ID_HEX,
  HEX,
  MAX_BODY_BYTES,
  MAX_CAPSULES_PER_REQUEST,
  deliveryDigest,
  storageAckDigest,
  type ConditionsReceipt,
  type KFragDelivery,
  type KFragReceipt,
  type NodeStatus,
  type ReencryptionRequest,
  type ReencryptionResponse,
} from "../network/protocol";
import type { LivePolicy, PolicyView } from "../network/chain";
import {
  authorizeRequest,
  checkConditionSet,
  ConditionBindingError,
  ConditionFormatError,
  conditionsHash,
  ReplayGuard,
  requiredContext,
  USER_ADDRESS,
  type ChainReader,
  type SignedConditionSet,
} from "../conditions";
import { NO_CONDITIONS, type ConditionsCommitment } from "../policy";
import { KFragDeliveryError, openKFrag } from "../network/delivery";
import type { SecretKey } from "../umbral";
import { signAttestation, type AttestationDomain } from "../slashing";
import { AttestationSigner, OperatorKeyError } from "./attestation";
import {
  CapsuleFormatError,
  openHeldKFrag,
  reencryptOne,
  type CFragResult,
  type HeldKFrag,
  type KFragBytes,
} from "./pool-task";
import { defaultWorkerCount, PoolBusyError, PoolWorkerError, ReencryptionPool } from "./pool";
import { NodeMetrics } from "./metrics";
import { ChainHealth, isUnreachable, shortReason, type NodeMonitor } from "./status";
import { renderStatusPage } from "./page";
import {
  AdmissionRefusedError,
  CryptoTurns,
  DEFAULT_ADMISSION,
  WorkAdmission,
  type AdmissionLimits,
} from "./admission";

/** Verified kfrags kept in memory; a node serving more policies reads the rest from its store. */
const KFRAG_CACHE_SIZE = 10_000;

/** Who the node is and what it can sign with. */
export interface NodeIdentity {
  staker: string;
  operator: string;
  chainId: bigint;
  policyManager: string;
  /** The node's Umbral secret key that kfrag deliveries are encrypted to. */
  encryptingKey: SecretKey;
  /** The operator's Ethereum key: signs every returned cfrag (the slashing evidence). */
  operatorSigner: Pick<Signer, "signMessage" | "signTypedData">;
  /**
   * The operator's secret key (0x-hex) when it is a local key: the cfrag attestations are then signed with it
   * by the re-encryption workers (src/node/attestation.ts, the same bytes as `operatorSigner` would give).
   * Without it every attestation goes through `operatorSigner` on the server's thread (a remote signer).
   */
  operatorKey?: string;
  /** The deployment the node's cfrag attestations are bound to (EIP-712 domain of its Adjudicator). */
  attestation: AttestationDomain;
}

/** How much a node takes from its clients before refusing; every field has a default (DEFAULT_LIMITS). */
export interface NodeServerLimits extends AdmissionLimits {
  /** Requests one client address may make per `rateWindowMs` over all routes; past it: 429 + Retry-After. */
  rateMax: number;
  rateWindowMs: number;
  /** Time (ms) a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time (ms) a client has to send a whole request (headers and body). */
  requestTimeoutMs: number;
  /** A connection with no traffic for this long (ms) is closed. */
  idleTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long (ms). */
  keepAliveTimeoutMs: number;
  /** How often (ms) the server checks the header and request timeouts. */
  timeoutCheckIntervalMs: number;
  /** Most open connections in all, and from one client address; more are closed at once. */
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** Most re-encryption requests waiting for a worker thread; past it: 503 OVERLOADED + Retry-After. */
  maxQueuedRequests: number;
}

export const DEFAULT_LIMITS: NodeServerLimits = {
  ...DEFAULT_ADMISSION,
  rateMax: 1200,
  rateWindowMs: 60_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  timeoutCheckIntervalMs: 1_000,
  maxConnections: 1024,
  maxConnectionsPerClient: 128,
  maxQueuedRequests: 128,
};

/** Admission weight of a kfrag delivery: opening and checking one costs about as much as four re-encryptions. */
const DELIVERY_WEIGHT = 4;

/** Logger settings: `true` is info level. Client addresses are logged only with `logClientAddress`. */
export type NodeLoggerOptions =
  boolean | { level: string; stream?: { write(line: string): void }; logClientAddress?: boolean };

export interface NodeServerOptions {
  identity: NodeIdentity;
  store: KFragStore;
  policies: PolicyView;
  logger?: NodeLoggerOptions;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<NodeServerLimits>;
  /**
   * Fastify's trustProxy: set it to the reverse proxy's address when there is one, so rate limits and caps
   * apply to the client address it forwards (X-Forwarded-For), not to the proxy's.
   */
  trustProxy?: boolean | string | string[];
  /**
   * Fault injection for demos and tests of slashing only: when set, the node corrupts every cfrag it returns
   * (still signing it). A real node never sets it; the daemon's CLI exposes it only on local chains.
   */
  cheat?: boolean;
  /**
   * Worker threads that re-encrypt and sign (src/node/pool.ts); default one per core
   * (`os.availableParallelism()`). 0: in the server's own thread, one capsule per turn (tests, debugging).
   */
  workers?: number;
  /** Tests only: the module the workers load instead of src/node/pool-task (to slow or crash them). */
  workerTaskModule?: string;
  /** The node's metrics (`GET /metrics`); default a registry of its own. */
  metrics?: NodeMetrics;
  /** The chain's health as the node sees it; default one of its own, logging to the server's logger. */
  health?: ChainHealth;
  /** The daemon's monitor: the chain snapshot for the status endpoints and the watchdog's verdict. */
  monitor?: NodeMonitor;
  /**
   * Web origins (`https://app.example.org`) whose pages may call the node's public endpoints from a browser
   * (CORS); `"*"` allows every origin. Default none: no CORS headers, browsers refuse cross-origin reads.
   * Check values with {@link parseCorsOrigins}.
   */
  corsOrigins?: readonly string[];
  /**
   * How the node judges access conditions (docs/conditions.md): its chain reader (a ProviderReader over its own
   * RPC) and the public URL it announces (SIWE proofs must name it). Without it the node serves policies
   * without conditions only and answers 503 CONDITION_UNAVAILABLE for the others.
   */
  conditions?: NodeConditionsOptions;
}

/** What the node needs to evaluate access conditions. */
export interface NodeConditionsOptions {
  reader: ChainReader;
  /** The node's announced URL, read at each request (it is known once the node listens). */
  publicUrl: () => string;
  /** The replay guard of requester proofs; default one of 100,000 live nonces. */
  replay?: ReplayGuard;
  /** Bound of one evaluation (ms); default 5 s. */
  deadlineMs?: number;
}

/** Raised for a CORS origin that is neither `*` nor a bare web origin. */
export class CorsOriginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorsOriginError";
  }
}

/**
 * The allowed CORS origins from a list of values, each one origin or several separated by commas: `*`, or a
 * web origin (`http(s)://host[:port]`, no path, no trailing slash, as browsers send it in `Origin`). Throws
 * {@link CorsOriginError} for anything else, so a typo does not silently leave a web app locked out.
 */
export function parseCorsOrigins(values: readonly string[]): string[] {
  const origins = values
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
  for (const origin of origins) {
    if (origin === "*") continue;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== origin) {
      throw new CorsOriginError(
        `CORS origin "${origin}" is not a web origin: write it as the browser sends it, scheme://host[:port] ` +
          `without path or trailing slash (e.g. https://app.example.org), or * for every origin`,
      );
    }
  }
  return [...new Set(origins)];
}

/** Longest the server waits for its worker threads to start before `listen` fails. */
const WORKER_START_TIMEOUT_MS = 120_000;

/** Seconds a client is told to wait when the node cannot read the chain. */
const CHAIN_RETRY_AFTER_SECONDS = 5;

/** A request the node refuses; the HTTP status tells the class of the failure. */
class NodeRequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
    /** Extra fields of the answer (the condition a refusal is about). */
    readonly details?: { condition?: { path: string; description: string } },
  ) {
    super(message);
  }
}

/** Headers a browser page may read from the node's answers besides the CORS-safelisted ones. */
const CORS_EXPOSED_HEADERS = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"];

/** The routes whose answers are counted as served or failed (the status and metrics routes are not). */
const REENCRYPT_ROUTE = "/v1/policies/:policyId/reencrypt";
const DELIVERY_ROUTE = "/v1/policies/:policyId/kfrag";
const CONDITIONS_ROUTE = "/v1/policies/:policyId/conditions";

/** JSON schema of a signed condition set's envelope; the set itself is checked by parseConditions (its path). */
const SIGNED_CONDITIONS_SCHEMA = {
  type: "object",
  required: ["policyId", "version", "conditions", "ownerSignature"],
  properties: {
    policyId: { type: "string", pattern: POLICY_ID_HEX },
    version: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    conditions: { type: ["object", "null"] },
    ownerSignature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
  },
} as const;

/** JSON schema of a requester proof (src/conditions/requester.ts checks it in full). */
const REQUESTER_SCHEMA = {
  type: "object",
  required: ["type", "signature"],
  properties: {
    type: { type: "string", enum: ["siwe", "eip712"] },
    message: { type: "string", maxLength: 4096 },
    claim: { type: "object" },
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
  },
} as const;

/** The fastify logger configuration: the request serializer drops the client address unless asked for. */
function loggerConfig(logger: NodeLoggerOptions | undefined) {
  if (!logger) return false;
  const { level, stream, logClientAddress } = logger === true ? { level: "info" } : logger;
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: req.url,
        ...(logClientAddress ? { remoteAddress: req.ip, remotePort: req.socket?.remotePort } : {}),
      }),
    },
  };
}

/** Closes connections past `maxConnectionsPerClient` from one address (the total is capped by the server). */
function capConnectionsPerClient(app: FastifyInstance, max: number): void {
  const open = new Map<string, number>();
  app.server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown";
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** The identity's operator key, checked to be the operator's; throws OperatorKeyError if it is not. */
function checkedOperatorKey(identity: NodeIdentity): string | undefined {
  if (identity.operatorKey === undefined) return undefined;
  const signer = new AttestationSigner(identity.operatorKey, identity.attestation);
  if (signer.address.toLowerCase() !== identity.operator.toLowerCase()) {
    throw new OperatorKeyError(
      `the operator key given is the key of ${signer.address}, not of the operator ${identity.operator}`,
    );
  }
  return identity.operatorKey;
}

/** Builds the node's fastify app (not yet listening); its worker threads stop when it closes. */
export function buildNodeServer(options: NodeServerOptions): FastifyInstance {
  const { identity, store, policies } = options;
  const limits: NodeServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const app = Fastify({
    logger: loggerConfig(options.logger),
    // Bounds the start of the worker threads (the onReady hook): seconds on a loaded machine, never a hang.
    pluginTimeout: WORKER_START_TIMEOUT_MS,
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: options.trustProxy ?? false,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
  });
  app.server.maxConnections = limits.maxConnections;
  capConnectionsPerClient(app, limits.maxConnectionsPerClient);
  const encryptingKey = identity.encryptingKey.publicKey().toCompressedBytes();
  const admission = new WorkAdmission({
    maxCapsulesInFlight: limits.maxCapsulesInFlight,
    maxCapsulesPerClient: limits.maxCapsulesPerClient,
    retryAfterSeconds: limits.retryAfterSeconds,
    refusalDelayMs: limits.refusalDelayMs,
  });
  /** Holds a refusal for refusalDelayMs, then throws it (see AdmissionLimits.refusalDelayMs). */
  async function refuseLater(error: unknown): Promise<never> {
    if (limits.refusalDelayMs > 0) await sleep(limits.refusalDelayMs);
    throw error;
  }
  const cpu = new CryptoTurns();
  const operatorKey = checkedOperatorKey(identity);
  const workers = options.workers ?? defaultWorkerCount();
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError("workers must be a whole number ≥ 0");
  /** The re-encryption workers; none with `workers: 0` (the crypto then runs in this thread). */
  const pool =
    workers > 0
      ? new ReencryptionPool({
          workers,
          maxQueue: limits.maxQueuedRequests,
          operatorKey,
          attestation: identity.attestation,
          taskModule: options.workerTaskModule,
        })
      : undefined;
  // The server is ready (listens, answers inject) once the workers are: a node announced is a node that serves.
  app.addHook("onReady", async () => pool?.ready());
  app.addHook("onClose", async () => pool?.close());
  /** The in-thread signer of `workers: 0` when the operator key is local. */
  const localSigner = !pool && operatorKey ? new AttestationSigner(operatorKey, identity.attestation) : undefined;
  const corsOrigins = parseCorsOrigins(options.corsOrigins ?? []);
  if (corsOrigins.length > 0) {
    // Registered before the rate limiter, so refusals (429, 503) carry the CORS headers too and a page can
    // read their Retry-After. No credentials: the API has no cookies or authentication to share.
    void app.register(cors, {
      origin: corsOrigins.includes("*") ? "*" : corsOrigins,
      methods: ["GET", "HEAD", "POST"],
      allowedHeaders: ["content-type"],
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
      strictPreflight: true,
    });
  }
  const metrics = options.metrics ?? new NodeMetrics();
  const health = options.health ?? new ChainHealth(metrics);
  health.attachLog(app.log);
  options.monitor?.attachLog(app.log);
  /** The refusal code each request was answered with, for the metrics. */
  const refusals = new WeakMap<FastifyRequest, string>();

  /**
   * Runs a read of the chain; a failure becomes 503 CHAIN_UNREACHABLE (no connection) or CHAIN_ERROR (the
   * RPC answered with an error), with the reason and Retry-After, and is logged once as "chain unreachable".
   */
  async function fromChain<T>(operation: string, read: () => Promise<T>): Promise<T> {
    try {
      return await health.track(operation, read);
    } catch (e) {
      const unreachable = isUnreachable(e);
      throw new NodeRequestError(
        503,
        unreachable ? "CHAIN_UNREACHABLE" : "CHAIN_ERROR",
        `${unreachable ? "the node cannot reach its Ethereum RPC" : "the node's Ethereum RPC failed"} ` +
          `(${operation}): ${shortReason(e)}; retry later`,
        CHAIN_RETRY_AFTER_SECONDS,
      );
    }
  }

  app.setErrorHandler(
    (error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply: FastifyReply) => {
      if (error instanceof AdmissionRefusedError) {
        // Debug only: a flood must not become a flood of log lines.
        request.log.debug({ code: error.code }, error.message);
        refusals.set(request, error.code);
        return reply
          .status(error.statusCode)
          .header("retry-after", String(error.retryAfterSeconds))
          .send({ statusCode: error.statusCode, code: error.code, error: error.message });
      }
      if (error instanceof NodeRequestError) {
        refusals.set(request, error.code);
        // A chain outage is logged once by the health tracker, not once per request.
        if (error.statusCode === 503) request.log.debug({ code: error.code }, error.message);
        else request.log.info({ code: error.code }, error.message);
        if (error.retryAfterSeconds !== undefined) reply.header("retry-after", String(error.retryAfterSeconds));
        return reply
          .status(error.statusCode)
          .send({ statusCode: error.statusCode, code: error.code, error: error.message, ...error.details });
      }
      if (error.validation || (error.statusCode && error.statusCode < 500)) {
        const statusCode = error.statusCode ?? 400;
        const code = error.validation ? "BAD_REQUEST" : (error.code ?? "BAD_REQUEST");
        refusals.set(request, code);
        return reply.status(statusCode).send({ statusCode, code, error: error.message });
      }
      refusals.set(request, "INTERNAL");
      request.log.error({ err: error }, "internal error");
      return reply.status(500).send({ statusCode: 500, code: "INTERNAL", error: "internal error" });
    },
  );

  /** Loads the on-chain policy and checks it is live and lists this node; throws NodeRequestError if not. */
  async function requireLivePolicy(policyId: string) {
    const policy = await fromChain("policy read", () => policies.getPolicy(policyId));
    if (!policy) throw new NodeRequestError(404, "UNKNOWN_POLICY", `policy ${policyId} does not exist on-chain`);
    if (!policy.nodes.some((n) => n.toLowerCase() === identity.staker.toLowerCase())) {
      throw new NodeRequestError(403, "NOT_A_POLICY_NODE", `policy ${policyId} does not list node ${identity.staker}`);
    }
    if (policy.revoked) {
      await forgetKFrag(policyId, "revoked");
      throw new NodeRequestError(410, "POLICY_REVOKED", `policy ${policyId} was revoked`);
    }
    const period = await fromChain("period read", () => policies.currentPeriod());
    if (period >= policy.endPeriod) {
      await forgetKFrag(policyId, "expired");
      throw new NodeRequestError(410, "POLICY_EXPIRED", `policy ${policyId} ended at period ${policy.endPeriod}`);
    }
    return policy;
  }

  const conditionsDomain = { chainId: identity.chainId, policyManager: identity.policyManager };
  const replay = options.conditions?.replay ?? new ReplayGuard();
  /** The conditions reader, with its RPC failures counted by the chain health tracker (reverts are not). */
  const reader: ChainReader | undefined = options.conditions && {
    chainId: options.conditions.reader.chainId,
    latestBlock: () => health.track("conditions block read", () => options.conditions!.reader.latestBlock()),
    code: (block, address) =>
      health.track("conditions code read", () => options.conditions!.reader.code(block, address)),
    call: async (block, to, data) => {
      try {
        return await options.conditions!.reader.call(block, to, data);
      } catch (e) {
        if (isUnreachable(e)) health.failed("conditions call", e);
        throw e;
      }
    },
  };

  /** The policy's conditions commitment as the chain holds it now (not cached: a new set is checked against it). */
  async function committedConditions(policyId: string, policy: LivePolicy): Promise<ConditionsCommitment> {
    const read = policies.conditionsOf?.bind(policies);
    return read ? fromChain("conditions read", () => read(policyId)) : (policy.conditions ?? NO_CONDITIONS);
  }

  /**
   * A signed condition set as it arrived, checked against the policy's owner and on-chain commitment (and the
   * version held): returns it verified, or throws the node's refusal (400 BAD_CONDITIONS, 403, 409).
   */
  function verifiedConditions(
    input: unknown,
    policyId: string,
    policy: LivePolicy,
    committed: ConditionsCommitment,
    heldVersion?: number,
  ): SignedConditionSet {
    try {
      return checkConditionSet(input, conditionsDomain, {
        policyId,
        owner: policy.owner,
        committedHash: committed.hash,
        committedVersion: committed.version,
        heldVersion,
      });
    } catch (e) {
      if (e instanceof ConditionFormatError) throw new NodeRequestError(400, "BAD_CONDITIONS", e.message);
      if (!(e instanceof ConditionBindingError)) throw e;
      const [status, code] = {
        BAD_SIGNATURE: [403, "CONDITIONS_NOT_OWNERS"],
        NOT_POLICY_OWNER: [403, "CONDITIONS_NOT_OWNERS"],
        OTHER_POLICY: [403, "CONDITIONS_OTHER_POLICY"],
        HASH_MISMATCH: [403, "CONDITIONS_NOT_COMMITTED"],
        STALE_VERSION: [409, "STALE_CONDITIONS"],
      }[e.failure] as [number, string];
      throw new NodeRequestError(status, code, e.message);
    }
  }

  /**
   * Judges a re-encryption request by the policy's conditions: the set held must be the one the chain commits
   * to now (a superseded set is never used), then authorizeRequest decides. Throws the refusal; returns to serve.
   */
  async function authorize(
    policyId: string,
    policy: LivePolicy,
    held: { conditions?: SignedConditionSet; conditionsHash: string },
    proof: unknown,
  ): Promise<void> {
    const committed = policy.conditions ?? NO_CONDITIONS;
    const heldVersion = held.conditions?.version ?? 0;
    if (heldVersion !== committed.version || held.conditionsHash !== committed.hash.toLowerCase()) {
      const message =
        `policy ${policyId} commits on-chain to access conditions version ${committed.version}, ` +
        `but this node holds version ${heldVersion}`;
      // Ahead of the chain as this node last read it: its view is a moment old; else the owner must send the set.
      if (heldVersion > committed.version)
        throw new NodeRequestError(503, "CONDITIONS_OUTDATED", `${message}; retry later`, CHAIN_RETRY_AFTER_SECONDS);
      throw new NodeRequestError(403, "CONDITIONS_OUTDATED", `${message}: the owner must send it the current set`);
    }
    const conditions = held.conditions?.conditions ?? null;
    if (conditions === null) return;
    const uri = options.conditions?.publicUrl().replace(/\/+$/, "");
    if (!reader || !uri)
      throw new NodeRequestError(
        503,
        "CONDITION_UNAVAILABLE",
        "this node cannot evaluate access conditions now (no chain reader or public URL yet); retry later",
        CHAIN_RETRY_AFTER_SECONDS,
      );
    // The requester proof is judged at the chain's time, the same clock conditions read.
    const now =
      proof !== undefined && requiredContext(conditions).has(USER_ADDRESS)
        ? (await fromChain("block read", () => reader.latestBlock())).timestamp
        : 0;
    const verdict = await authorizeRequest({
      conditions,
      proof,
      expected: {
        domain: new URL(uri).host,
        uri,
        chainId: identity.chainId,
        now,
        replay,
        node: identity.staker,
        policyId,
        policyManager: identity.policyManager,
      },
      reader,
      options: { deadlineMs: options.conditions?.deadlineMs },
    });
    if (verdict.serve) return;
    const { refusal } = verdict;
    throw new NodeRequestError(
      refusal.statusCode,
      refusal.code,
      refusal.error,
      refusal.retryAfterSeconds,
      refusal.condition && { condition: refusal.condition },
    );
  }

  /** Deletes the kfrag of a revoked or ended policy on the first request that finds it so (the sweep does the rest). */
  async function forgetKFrag(policyId: string, reason: "revoked" | "expired") {
    kfragCache.delete(policyId);
    if (store.has(policyId) && (await store.delete(policyId))) app.log.info({ policyId, reason }, "kfrag deleted");
  }

  /**
   * Kfrags by policy as the store holds them, so a request costs no store read; the re-encryption workers
   * verify each once and keep it (by `id`, new at every reload). With no workers, the verified kfrag is kept
   * here. Bounded; the oldest entry goes first.
   */
  const kfragCache = new Map<
    string,
    { bytes: KFragBytes; held?: HeldKFrag; conditions?: SignedConditionSet; conditionsHash: string }
  >();
  let kfragLoads = 0;
  async function loadKFrag(policyId: string) {
    const cached = kfragCache.get(policyId);
    if (cached) return cached;
    const held = await store.get(policyId);
    if (!held) throw new NodeRequestError(404, "NO_KFRAG", `this node holds no kfrag for policy ${policyId}`);
    const entry = {
      bytes: {
        id: `${policyId}:${++kfragLoads}`,
        kfrag: hexBytes(held.kfrag),
        delegatingKey: hexBytes(held.delegatingKey),
        receivingKey: hexBytes(held.receivingKey),
        verifyingKey: hexBytes(held.verifyingKey),
      },
      conditions: held.conditions,
      conditionsHash: held.conditions ? conditionsHash(held.conditions.conditions) : ZeroHash,
    };
    if (kfragCache.size >= KFRAG_CACHE_SIZE) kfragCache.delete(kfragCache.keys().next().value!);
    kfragCache.set(policyId, entry);
    return entry;
  }

  // One request budget per client address over all routes, refused before the body is read. The limiter's
  // own store is an LRU of 5000 addresses, so a spray of addresses cannot grow it without bound.
  void app.register(rateLimit, {
    global: false,
    max: limits.rateMax,
    timeWindow: limits.rateWindowMs,
    errorResponseBuilder: (_request, context) =>
      new NodeRequestError(429, "RATE_LIMITED", `too many requests from this client; retry in ${context.after}`),
  });
  let limitRate: ReturnType<FastifyInstance["rateLimit"]> | undefined;
  // A root hook, so it covers every route and unknown paths too; the limiter exists once the plugin loaded.
  app.addHook("onRequest", (request, reply) =>
    (limitRate ??= app.rateLimit()).call(app, request, reply).catch(refuseLater),
  );

  const policyParams = {
    type: "object",
    required: ["policyId"],
    properties: { policyId: { type: "string", pattern: POLICY_ID_HEX } },
  } as const;

  // Counts every answer of the delivery and re-encryption routes, by outcome, once it is sent.
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== REENCRYPT_ROUTE && route !== DELIVERY_ROUTE) return;
    const ok = reply.statusCode < 400;
    options.monitor?.countRequest(ok);
    const outcome = ok ? "served" : (refusals.get(request) ?? `HTTP_${reply.statusCode}`);
    if (route === REENCRYPT_ROUTE) {
      metrics.reencryptionRequests.inc({ outcome });
      metrics.reencryptionDuration.observe(reply.elapsedTime / 1000);
    } else {
      metrics.kfragDeliveries.inc({ outcome: ok ? (reply.statusCode === 201 ? "stored" : "unchanged") : outcome });
    }
  });

  /** The status: the monitor's full one when the daemon runs one, else what the server knows itself. */
  async function status(): Promise<NodeStatus> {
    // The period is computed locally from the chain's clock (re-read at most every policyCacheMs, waited for at
    // most a second); with the chain unreachable, the monitor's last one.
    const livePeriod = await Promise.race([
      policies.currentPeriod().then(Number, () => undefined),
      sleep(1_000, undefined, { ref: false }).then(() => undefined),
    ]);
    if (options.monitor) return options.monitor.status(livePeriod);
    return {
      staker: identity.staker,
      operator: identity.operator,
      encryptingKey: toHex(encryptingKey),
      chainId: identity.chainId.toString(),
      currentPeriod: livePeriod ?? -1,
      kfrags: await store.count(),
      deletedKFrags: store.deleted(),
      lostKFrags: store.lost().length,
    };
  }

  app.get("/v1/status", status);
  app.get("/status", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(renderStatusPage(await status())),
  );
  // The metrics are for the operator's scraper, not for web pages: never CORS.
  app.get("/metrics", { config: { cors: false } }, async (_request, reply) => {
    metrics.kfrags.set(await store.count());
    metrics.lostKFrags.set(store.lost().length);
    metrics.reencryptionQueue.set(pool?.queued ?? 0);
    metrics.reencryptionWorkers.set(pool?.threads ?? 0);
    const { contentType, body } = await metrics.exposition();
    return reply.type(contentType).send(body);
  });

  app.post<{ Params: { policyId: string }; Body: KFragDelivery }>(
    "/v1/policies/:policyId/kfrag",
    {
      schema: {
        params: policyParams,
        body: {
          type: "object",
          required: ["capsule", "ciphertext", "version", "ownerSignature"],
          additionalProperties: false,
          properties: {
            capsule: { type: "string", pattern: HEX, maxLength: 1024 },
            ciphertext: { type: "string", pattern: HEX, maxLength: 8192 },
            version: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            ownerSignature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
            conditions: SIGNED_CONDITIONS_SCHEMA,
          },
        },
      },
    },
    async (request, reply) => {
      const policyId = request.params.policyId.toLowerCase();
      const notServing = options.monitor?.notServingReason;
      if (notServing)
        throw new NodeRequestError(503, "NOT_ACCEPTING_KFRAGS", `this node accepts no new kfrags: ${notServing}`);
      const policy = await requireLivePolicy(policyId);
      const capsule = hexBytes(request.body.capsule);
      const ciphertext = hexBytes(request.body.ciphertext);
      const { version } = request.body;
      // The conditions first: a delivery for a policy that commits to conditions must carry the committed set.
      const committed = await committedConditions(policyId, policy);
      let conditions: SignedConditionSet | undefined;
      if (request.body.conditions !== undefined)
        conditions = verifiedConditions(request.body.conditions, policyId, policy, committed);
      else if (committed.version > 0)
        throw new NodeRequestError(
          403,
          "CONDITIONS_REQUIRED",
          `policy ${policyId} commits on-chain to access conditions (version ${committed.version}); ` +
            `a kfrag delivery must carry that signed set`,
        );
      const digest = deliveryDigest({
        chainId: identity.chainId,
        policyManager: identity.policyManager,
        policyId,
        staker: identity.staker,
        version,
        capsule,
        ciphertext,
        conditions: conditions && { version: conditions.version, hash: conditionsHash(conditions.conditions) },
      });
      let signer: string;
      try {
        signer = verifyMessage(digest, request.body.ownerSignature);
      } catch {
        throw new NodeRequestError(400, "BAD_SIGNATURE", "ownerSignature is not a valid signature");
      }
      if (signer.toLowerCase() !== policy.owner.toLowerCase()) {
        throw new NodeRequestError(
          403,
          "NOT_POLICY_OWNER",
          `delivery signed by ${signer}, not by the policy owner ${policy.owner}`,
        );
      }
      let payload;
      let ticket;
      try {
        ticket = admission.admit(request.ip, DELIVERY_WEIGHT);
      } catch (e) {
        return refuseLater(e);
      }
      const endTurn = await cpu.turn();
      try {
        payload = openKFrag(identity.encryptingKey, capsule, ciphertext);
      } catch (e) {
        if (e instanceof KFragDeliveryError) throw new NodeRequestError(400, "BAD_DELIVERY", e.message);
        throw e;
      } finally {
        endTurn();
        ticket.release();
      }
      // Only a newer kfrag set replaces the one held: an old delivery replayed changes nothing.
      const put = await store.putNewer({
        policyId,
        ...payload,
        receivedAt: Date.now(),
        version,
        deliveryId: toHex(digest),
        endPeriod: policy.endPeriod.toString(),
        ...(conditions ? { conditions } : {}),
      });
      if (put.outcome === "stale" || put.outcome === "conflict") {
        const held = put.held.version ?? 0;
        throw put.outcome === "stale"
          ? new NodeRequestError(409, "STALE_DELIVERY", `this node holds version ${held}, newer than ${version}`)
          : new NodeRequestError(409, "DELIVERY_CONFLICT", `this node holds another delivery of version ${held}`);
      }
      kfragCache.delete(policyId);
      request.log.info({ policyId, version, outcome: put.outcome }, "kfrag stored");
      // The signed acknowledgement: the operator vouches it stored exactly this delivery.
      const receipt: KFragReceipt = {
        policyId,
        version,
        stored: true,
        operator: identity.operator,
        signature: await identity.operatorSigner.signMessage(storageAckDigest(digest)),
      };
      return reply.status(put.outcome === "stored" ? 201 : 200).send(receipt);
    },
  );

  app.post<{ Params: { policyId: string }; Body: SignedConditionSet }>(
    CONDITIONS_ROUTE,
    { schema: { params: policyParams, body: SIGNED_CONDITIONS_SCHEMA } },
    async (request, reply) => {
      const policyId = request.params.policyId.toLowerCase();
      const policy = await requireLivePolicy(policyId);
      const committed = await committedConditions(policyId, policy);
      const held = await store.get(policyId);
      if (!held) throw new NodeRequestError(404, "NO_KFRAG", `this node holds no kfrag for policy ${policyId}`);
      const set = verifiedConditions(request.body, policyId, policy, committed, held.conditions?.version ?? 0);
      const put = await store.putConditions(policyId, set);
      if (put.outcome === "no-kfrag")
        throw new NodeRequestError(404, "NO_KFRAG", `this node holds no kfrag for policy ${policyId}`);
      if (put.outcome === "stale")
        throw new NodeRequestError(
          409,
          "STALE_CONDITIONS",
          `this node holds version ${put.heldVersion}, newer than ${set.version}`,
        );
      kfragCache.delete(policyId);
      request.log.info({ policyId, version: set.version, outcome: put.outcome }, "conditions stored");
      const receipt: ConditionsReceipt = { policyId, version: set.version, stored: true };
      return reply.status(put.outcome === "stored" ? 201 : 200).send(receipt);
    },
  );

  app.post<{ Params: { policyId: string }; Body: ReencryptionRequest }>(
    "/v1/policies/:policyId/reencrypt",
    {
      schema: {
        params: policyParams,
        body: {
          type: "object",
          required: ["capsules"],
          additionalProperties: false,
          properties: {
            capsules: {
              type: "array",
              minItems: 1,
              maxItems: MAX_CAPSULES_PER_REQUEST,
              items: { type: "string", pattern: HEX, maxLength: 512 },
            },
            requester: REQUESTER_SCHEMA,
          },
        },
      },
    },
    async (request): Promise<ReencryptionResponse> => {
      const policyId = request.params.policyId.toLowerCase();
      // Admitted before anything costs an RPC call or a disk read; released however the request ends.
      let ticket;
      try {
        ticket = admission.admit(request.ip, request.body.capsules.length);
      } catch (e) {
        return refuseLater(e);
      }
      try {
        const policy = await requireLivePolicy(policyId);
        const entry = await loadKFrag(policyId);
        // Before any crypto: the owner's conditions, judged now; the request supplies only the requester proof.
        await authorize(policyId, policy, entry, request.body.requester);
        const capsules = request.body.capsules;
        const results = pool ? await reencryptInPool(entry.bytes, capsules) : await reencryptHere(entry, capsules);
        const cfrags = [];
        for (const result of results) {
          // A remote operator signer: the attestations are signed here, one after the other.
          const signature =
            result.signature ??
            toHex(
              await signAttestation(
                identity.operatorSigner,
                { ...result.attested!, ...openedKeys(entry.bytes) },
                identity.attestation,
              ),
            );
          cfrags.push({ cfrag: result.cfrag, signature });
        }
        metrics.cfrags.inc(cfrags.length);
        request.log.info({ policyId, capsules: cfrags.length }, "re-encrypted");
        return { operator: identity.operator, cfrags };
      } catch (e) {
        // A full pool queue: refused like admission refusals, the capsules given back before the delay.
        ticket.release();
        if (e instanceof AdmissionRefusedError) return refuseLater(e);
        throw e;
      } finally {
        ticket.release();
      }
    },
  );

  /** The attested keys of a kfrag as the store holds them. */
  function openedKeys(bytes: KFragBytes) {
    return { delegatingKey: bytes.delegatingKey, receivingKey: bytes.receivingKey, verifyingKey: bytes.verifyingKey };
  }

  /** One task per request on the pool; a full queue is 503 OVERLOADED, a failed worker 503 WORKER_FAILED. */
  async function reencryptInPool(bytes: KFragBytes, capsules: string[]): Promise<CFragResult[]> {
    let outcome;
    try {
      outcome = await pool!.run({ kfrag: bytes, capsules, cheat: options.cheat ?? false });
    } catch (e) {
      if (e instanceof PoolBusyError) {
        throw new AdmissionRefusedError(
          503,
          "OVERLOADED",
          limits.retryAfterSeconds,
          `the node is at capacity (${e.queued} requests waiting); retry after ${limits.retryAfterSeconds} s`,
        );
      }
      if (e instanceof PoolWorkerError) {
        metrics.workerFailures.inc();
        app.log.error({ err: e.cause }, "re-encryption worker failed; a new one replaces it");
        throw new NodeRequestError(
          503,
          "WORKER_FAILED",
          `the node's re-encryption worker failed; retry after ${limits.retryAfterSeconds} s`,
          limits.retryAfterSeconds,
        );
      }
      throw e;
    }
    if (outcome.ok) return outcome.cfrags;
    if (outcome.code === "BAD_CAPSULE") throw new NodeRequestError(400, "BAD_CAPSULE", outcome.message);
    // Verified before it was stored; a failure here means a corrupted store, reported as a 500.
    throw new Error(`the stored kfrag does not verify: ${outcome.message}`);
  }

  /** `--workers 0`: in this thread, one capsule per turn, other requests' capsules and the event loop in between. */
  async function reencryptHere(entry: { bytes: KFragBytes; held?: HeldKFrag }, capsules: string[]) {
    // Verified before it was stored; a failure here means a corrupted store, reported as a 500.
    entry.held ??= openHeldKFrag(entry.bytes);
    const results: CFragResult[] = [];
    for (const [index, capsule] of capsules.entries()) {
      const endTurn = await cpu.turn();
      try {
        results.push(reencryptOne(entry.held, capsule, index, { cheat: options.cheat ?? false, signer: localSigner }));
      } catch (e) {
        if (e instanceof CapsuleFormatError) throw new NodeRequestError(400, "BAD_CAPSULE", e.message);
        throw e;
      } finally {
        endTurn();
      }
    }
    return results;
  }

  return app;
}
