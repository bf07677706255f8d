// The node's Prometheus metrics (prom-client), served at `GET /metrics`. Each node has its own registry, so
// several nodes in one process (tests, the demo) do not share counters. Names follow Prometheus conventions:
// `kms_node_` prefix, `_total` for counters, base units (`_seconds`); the operator's balance is in ether,
// since wei overflow a float's precision.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Every metric a node exports. */
export class NodeMetrics {
  readonly registry = new Registry();

  /** Re-encryption requests answered, by outcome: `served`, or the refusal's code (UNKNOWN_POLICY, RATE_LIMITED…). */
  readonly reencryptionRequests = new Counter({
    name: "kms_node_reencryption_requests_total",
    help: "Re-encryption requests answered, by outcome (served, or the refusal's code)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  /** Capsules re-encrypted (cfrags signed and returned). */
  readonly cfrags = new Counter({
    name: "kms_node_cfrags_total",
    help: "Capsules re-encrypted: cfrags signed and returned",
    registers: [this.registry],
  });
  readonly reencryptionQueue = new Gauge({
    name: "kms_node_reencryption_queue",
    help: "Re-encryption requests waiting for a worker thread (bounded: past the bound the node answers 503)",
    registers: [this.registry],
  });
  readonly reencryptionWorkers = new Gauge({
    name: "kms_node_reencryption_workers",
    help: "Re-encryption worker threads alive (0 when the node re-encrypts in its main thread)",
    registers: [this.registry],
  });
  /** Worker threads that failed while running a request (each is replaced). */
  readonly workerFailures = new Counter({
    name: "kms_node_worker_failures_total",
    help: "Re-encryption worker threads that died while running a request (each is replaced by a new one)",
    registers: [this.registry],
  });
  readonly reencryptionDuration = new Histogram({
    name: "kms_node_reencryption_duration_seconds",
    help: "Time to answer a re-encryption request, refusals included",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** Kfrag deliveries answered, by outcome: `stored`, `unchanged`, or the refusal's code. */
  readonly kfragDeliveries = new Counter({
    name: "kms_node_kfrag_deliveries_total",
    help: "Kfrag deliveries answered, by outcome (stored, unchanged, or the refusal's code)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly commitmentsSent = new Counter({
    name: "kms_node_commitments_sent_total",
    help: "Commitment transactions sent (replacements included)",
    registers: [this.registry],
  });
  readonly commitmentsConfirmed = new Counter({
    name: "kms_node_commitments_confirmed_total",
    help: "Periods this node committed to (mined commitments)",
    registers: [this.registry],
  });
  readonly commitmentsFailed = new Counter({
    name: "kms_node_commitments_failed_total",
    help: "Commitment tries that failed (reverted, stuck, or the chain unreachable)",
    registers: [this.registry],
  });
  /** Chain reads and transactions that failed, by what the node was doing. */
  readonly chainErrors = new Counter({
    name: "kms_node_chain_errors_total",
    help: "Calls to the Ethereum RPC that failed, by operation",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly chainReachable = new Gauge({
    name: "kms_node_chain_reachable",
    help: "1 while the node's last call to its Ethereum RPC succeeded, else 0",
    registers: [this.registry],
  });
  readonly operatorBalance = new Gauge({
    name: "kms_node_operator_balance_ether",
    help: "The operator account's ETH balance, which pays for commitments",
    registers: [this.registry],
  });
  readonly commitmentsPaidFor = new Gauge({
    name: "kms_node_commitments_paid_for",
    help: "How many more commitments the operator's balance pays for at the current gas price",
    registers: [this.registry],
  });
  readonly missedCommitments = new Gauge({
    name: "kms_node_missed_commitments",
    help: "Periods since the node started that it did not commit to",
    registers: [this.registry],
  });
  readonly kfrags = new Gauge({
    name: "kms_node_kfrags",
    help: "Kfrags the node holds",
    registers: [this.registry],
  });
  readonly lostKFrags = new Gauge({
    name: "kms_node_lost_kfrags",
    help: "Kfrags the node acknowledged and its store no longer holds (re-delivery needed)",
    registers: [this.registry],
  });
  readonly serving = new Gauge({
    name: "kms_node_accepting_kfrags",
    help: "1 while the node is bonded, staked and locked for the next period (commits, accepts kfrags), else 0",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.chainReachable.set(1);
    this.serving.set(1);
    // Process metrics (CPU, memory, event-loop lag, open file descriptors), prefixed like the rest.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "kms_node_" });
  }

  /** The text exposition format, and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
