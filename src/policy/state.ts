// Reading a policy back: the contract stores only a commitment per policy, so the record is rebuilt from the
// PolicyCreated / PolicyExtended / PolicySlotMoved / PolicyRevoked / PolicyRefunded events and checked against
// that commitment.
import type { Log, Provider } from "ethers";
import type { PolicyManager } from "../../typechain-types";
import { PolicyNotFoundError, PolicyRecordMismatchError } from "./errors";
import { parsePolicyId } from "./id";
import { hashPolicyRecord, policyDeposit, type PolicyRecord } from "./record";

/** One `extendPolicy`: the end moved from `previousEndPeriod` to `endPeriod`, the owner paid `addedDeposit`. */
export interface PolicyExtension {
  previousEndPeriod: bigint;
  endPeriod: bigint;
  addedDeposit: bigint;
}

/** One `moveSlot`: slot `index` went from `previousNode` to `node`, which serves and earns from `fromPeriod`. */
export interface SlotMove {
  index: number;
  previousNode: string;
  node: string;
  fromPeriod: bigint;
}

/** A policy's record and history, as the events tell it. */
export interface PolicyHistory {
  policyId: string;
  record: PolicyRecord;
  /** End period at creation. */
  originalEndPeriod: bigint;
  /** End period before any revocation: the creation's, or the last extension's. */
  scheduledEndPeriod: bigint;
  /** Everything paid in: the creation's deposit plus every extension's. */
  deposit: bigint;
  extensions: PolicyExtension[];
  slotMoves: SlotMove[];
  revoked: boolean;
  /** Everything sent back to the owner so far (refunds, the settlements of slot moves, and revocation). */
  refunded: bigint;
}

/** The events that change a policy's record, in the order the chain logged them. */
const RECORD_EVENTS = [
  "PolicyCreated",
  "PolicyExtended",
  "PolicySlotMoved",
  "PolicyRevoked",
  "PolicyRefunded",
] as const;

/** Every record-changing log of `id` since `fromBlock`, in chain order, with one log query. */
async function policyLogs(
  pm: PolicyManager,
  provider: Provider,
  id: string,
  fromBlock: number,
  toBlock: number,
): Promise<Log[]> {
  const topics = RECORD_EVENTS.map((name) => pm.interface.getEvent(name).topicHash);
  const [, idTopic] = await pm.filters.PolicyRevoked(id).getTopicFilter();
  const logs = await provider.getLogs({
    address: await pm.getAddress(),
    fromBlock,
    toBlock,
    topics: [topics, idTopic as string],
  });
  return logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
}

/**
 * The chain's latest block number, asked afresh: through a raw `eth_blockNumber` where the provider offers `send`
 * (ethers' JSON-RPC providers answer `getBlockNumber` from a 250 ms cache, which would pin a read made right after
 * a transaction to a block before it), else `getBlockNumber`.
 */
async function headBlock(provider: Provider): Promise<number> {
  const raw = provider as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
  if (typeof raw.send === "function") return Number(BigInt((await raw.send("eth_blockNumber", [])) as string));
  return provider.getBlockNumber();
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
  const provider = pm.runner?.provider;
  if (!provider) throw new TypeError("readPolicy: the PolicyManager is not connected to a provider");
  // The events and the commitment are read at one block: a block mined between two reads "at latest" (or a
  // provider's short-lived cache of one of them) would otherwise pair a record with another block's commitment.
  const block = await headBlock(provider);
  let history: PolicyHistory | undefined;
  for (const log of await policyLogs(pm, provider, id, options.fromBlock ?? 0, block)) {
    const event = pm.interface.parseLog(log);
    if (!event) continue;
    const a = event.args;
    if (event.name === "PolicyCreated") {
      const record: PolicyRecord = {
        owner: a.owner as string,
        startPeriod: a.startPeriod as bigint,
        endPeriod: a.endPeriod as bigint,
        refundedThrough: a.startPeriod as bigint,
        feeRate: a.feeRate as bigint,
        nodes: [...(a.nodes as string[])],
      };
      history = {
        policyId: id,
        record,
        originalEndPeriod: record.endPeriod,
        scheduledEndPeriod: record.endPeriod,
        deposit: policyDeposit(record.feeRate, record.endPeriod - record.startPeriod, record.nodes.length),
        extensions: [],
        slotMoves: [],
        revoked: false,
        refunded: 0n,
      };
      continue;
    }
    // Nothing but the creation can come first; the commitment check below catches anything inconsistent.
    if (!history) continue;
    const record = history.record;
    switch (event.name) {
      case "PolicyExtended":
        record.endPeriod = a.endPeriod;
        history.scheduledEndPeriod = a.endPeriod;
        history.deposit += a.addedDeposit;
        history.extensions.push({
          previousEndPeriod: a.previousEndPeriod,
          endPeriod: a.endPeriod,
          addedDeposit: a.addedDeposit,
        });
        break;
      case "PolicySlotMoved": {
        const index = Number(a.index);
        record.nodes[index] = a.node;
        // The move settled the missed periods before its cut-over (a PolicyRefunded precedes it if any paid).
        if (a.fromPeriod > record.refundedThrough) record.refundedThrough = a.fromPeriod;
        history.slotMoves.push({ index, previousNode: a.previousNode, node: a.node, fromPeriod: a.fromPeriod });
        break;
      }
      case "PolicyRevoked":
        history.revoked = true;
        history.refunded += a.refund;
        if (a.endPeriod < record.endPeriod) record.endPeriod = a.endPeriod;
        break;
      case "PolicyRefunded":
        history.refunded += a.refund;
        if (a.refundedThrough > record.refundedThrough) record.refundedThrough = a.refundedThrough;
        break;
    }
  }
  if (!history) throw new PolicyNotFoundError(id);
  const stored = await pm.policyCommitment(id, { blockTag: block });
  const actual = hashPolicyRecord(history.record);
  if (stored !== actual) throw new PolicyRecordMismatchError(id, stored, actual);
  return history;
}

/**
 * Who held each slot when: one entry per (slot, node) tenure, `[fromPeriod, untilPeriod)`, oldest first within a
 * slot. The first holder of a slot starts at the policy's start; the last one ends at the record's end.
 */
export function slotTenures(history: PolicyHistory): SlotTenure[] {
  const { record } = history;
  // Walk the moves back from the current nodes to each slot's first holder.
  const first = [...record.nodes];
  for (const move of [...history.slotMoves].reverse()) first[move.index] = move.previousNode;
  const holding: SlotTenure[] = first.map((node, slot) => ({
    slot,
    node,
    fromPeriod: record.startPeriod,
    untilPeriod: record.endPeriod,
  }));
  const tenures = [...holding];
  for (const move of history.slotMoves) {
    const held = holding[move.index];
    held.untilPeriod = move.fromPeriod < record.endPeriod ? move.fromPeriod : record.endPeriod;
    holding[move.index] = {
      slot: move.index,
      node: move.node,
      fromPeriod: held.untilPeriod,
      untilPeriod: record.endPeriod,
    };
    tenures.push(holding[move.index]);
  }
  // Stable: tenures starting in the same period keep the order of the moves.
  return tenures.sort(
    (x, y) => x.slot - y.slot || (x.fromPeriod < y.fromPeriod ? -1 : x.fromPeriod > y.fromPeriod ? 1 : 0),
  );
}

/** A node's tenure of one slot of a policy: it serves and earns `[fromPeriod, untilPeriod)`. */
export interface SlotTenure {
  slot: number;
  node: string;
  fromPeriod: bigint;
  untilPeriod: bigint;
}

/** What one node earned from one policy so far, in its tenure of one slot. */
export interface NodeAccrual extends SlotTenure {
  /** Policy periods of the tenure the node committed to (including a next period it committed to ahead). */
  committedPeriods: bigint[];
  accrued: bigint;
}

/** A policy's full state: history, per-tenure accrual, what a refund would pay now and what is still held. */
export interface PolicyState extends PolicyHistory {
  currentPeriod: bigint;
  status: "active" | "ended" | "revoked";
  /** One entry per slot tenure (a slot moved once has two: the old node's and the new one's). */
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
  for (const tenure of slotTenures(history)) {
    const committedPeriods: bigint[] = [];
    const until = tenure.untilPeriod < lastKnown ? tenure.untilPeriod : lastKnown;
    for (let p = tenure.fromPeriod; p < until; p++) {
      if (await pm.hasCommitted(tenure.node, p)) committedPeriods.push(p);
    }
    nodes.push({ ...tenure, committedPeriods, accrued: BigInt(committedPeriods.length) * record.feeRate });
  }
  const [refundable] = await pm.refundable(history.policyId, record);
  const accrued = nodes.reduce((sum, n) => sum + n.accrued, 0n);
  const status = history.revoked ? "revoked" : currentPeriod >= record.endPeriod ? "ended" : "active";
  return { ...history, currentPeriod, status, nodes, refundable, held: history.deposit - accrued - history.refunded };
}
