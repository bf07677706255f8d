// Reading a policy back: the contract stores only a commitment per policy, so the record is rebuilt from the
// PolicyCreated / PolicyRevoked / PolicyRefunded events and checked against that commitment.
import type { PolicyManager } from "../../typechain-types";
import { PolicyNotFoundError, PolicyRecordMismatchError } from "./errors";
import { parsePolicyId } from "./id";
import { hashPolicyRecord, policyDeposit, type PolicyRecord } from "./record";

/** A policy's record and history, as the events tell it. */
export interface PolicyHistory {
  policyId: string;
  record: PolicyRecord;
  /** End period at creation; `record.endPeriod` is earlier after a revocation. */
  originalEndPeriod: bigint;
  deposit: bigint;
  revoked: boolean;
  /** Everything sent back to the owner so far (refunds and revocation). */
  refunded: bigint;
}

/**
 * Rebuilds the current record of `policyId` and checks it against the stored commitment. Events are searched
 * from `options.fromBlock` (default 0); pass the PolicyManager's deployment block, since many RPC providers
 * refuse log queries from block 0.
 */
export async function readPolicy(
  pm: PolicyManager,
  policyId: string,
  options: { fromBlock?: number } = {},
): Promise<PolicyHistory> {
  const id = parsePolicyId(policyId);
  const fromBlock = options.fromBlock ?? 0;
  const [created] = await pm.queryFilter(pm.filters.PolicyCreated(id), fromBlock);
  if (!created) throw new PolicyNotFoundError(id);
  const c = created.args;
  const record: PolicyRecord = {
    owner: c.owner,
    startPeriod: c.startPeriod,
    endPeriod: c.endPeriod,
    refundedThrough: c.startPeriod,
    feeRate: c.feeRate,
    nodes: [...c.nodes],
  };
  let refunded = 0n;
  let revoked = false;
  for (const event of await pm.queryFilter(pm.filters.PolicyRevoked(id), fromBlock)) {
    revoked = true;
    refunded += event.args.refund;
    if (event.args.endPeriod < record.endPeriod) record.endPeriod = event.args.endPeriod;
  }
  for (const event of await pm.queryFilter(pm.filters.PolicyRefunded(id), fromBlock)) {
    refunded += event.args.refund;
    if (event.args.refundedThrough > record.refundedThrough) record.refundedThrough = event.args.refundedThrough;
  }
  const stored = await pm.policyCommitment(id);
  const actual = hashPolicyRecord(record);
  if (stored !== actual) throw new PolicyRecordMismatchError(id, stored, actual);
  return {
    policyId: id,
    record,
    originalEndPeriod: c.endPeriod,
    deposit: policyDeposit(c.feeRate, c.endPeriod - c.startPeriod, c.nodes.length),
    revoked,
    refunded,
  };
}

/** What one node earned from one policy so far. */
export interface NodeAccrual {
  node: string;
  /** Policy periods the node committed to (including a next period it committed to ahead). */
  committedPeriods: bigint[];
  accrued: bigint;
}

/** A policy's full state: history, per-node accrual, what a refund would pay now and what is still held. */
export interface PolicyState extends PolicyHistory {
  currentPeriod: bigint;
  status: "active" | "ended" | "revoked";
  nodes: NodeAccrual[];
  refundable: bigint;
  /** Deposit not yet credited to nodes nor sent back: deposit − accrued − refunded. */
  held: bigint;
}

/**
 * Reads the state of `policyId`. Per-node accrual asks `hasCommitted` once per node and policy period up to the
 * next one, so it suits the CLI, not a loop over thousands of periods.
 */
export async function describePolicy(pm: PolicyManager, policyId: string): Promise<PolicyState> {
  const history = await readPolicy(pm, policyId);
  const { record } = history;
  const currentPeriod = await pm.getCurrentPeriod();
  const lastKnown = currentPeriod + 2n < record.endPeriod ? currentPeriod + 2n : record.endPeriod;
  const nodes: NodeAccrual[] = [];
  for (const node of record.nodes) {
    const committedPeriods: bigint[] = [];
    for (let p = record.startPeriod; p < lastKnown; p++) {
      if (await pm.hasCommitted(node, p)) committedPeriods.push(p);
    }
    nodes.push({ node, committedPeriods, accrued: BigInt(committedPeriods.length) * record.feeRate });
  }
  const [refundable] = await pm.refundable(history.policyId, record);
  const accrued = nodes.reduce((sum, n) => sum + n.accrued, 0n);
  const status = history.revoked ? "revoked" : currentPeriod >= record.endPeriod ? "ended" : "active";
  return { ...history, currentPeriod, status, nodes, refundable, held: history.deposit - accrued - history.refunded };
}
