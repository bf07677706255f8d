// Policy operations as the CLI and the client run them: each resolves what the contract needs (sorted nodes,
// the deposit's allowance, the current record rebuilt from events) and sends one transaction.
import { getAddress, isAddress, type Signer } from "ethers";
import type { KMSToken, PolicyManager } from "../../typechain-types";
import { signPermit } from "../token/permit";
import { InvalidExtensionError, InvalidPeriodsError, InvalidSlotMoveError, PolicyNotLiveError } from "./errors";
import { parsePolicyId, randomPolicyId } from "./id";
import { extensionDeposit, policyDeposit, sortNodes, type PolicyRecord } from "./record";
import { signRevoke } from "./revoke";
import { readPolicy, type PolicyHistory } from "./state";

/** What to create: `periods` periods from the current one, served by `nodes` at `feeRate` per node and period. */
export interface CreatePolicyRequest {
  nodes: readonly string[];
  periods: bigint;
  feeRate: bigint;
  /** Defaults to the signer. */
  owner?: string;
  /** Defaults to a random id. */
  policyId?: string;
}

/** A created policy. */
export interface CreatedPolicy {
  policyId: string;
  record: PolicyRecord;
  deposit: bigint;
  txHash: string;
}

/** Creates a policy, approving the deposit first if the signer's allowance is short. */
export async function createPolicy(
  pm: PolicyManager,
  token: KMSToken,
  signer: Signer,
  request: CreatePolicyRequest,
): Promise<CreatedPolicy> {
  if (request.periods <= 0n) throw new InvalidPeriodsError(String(request.periods));
  const nodes = sortNodes(request.nodes);
  const policyId = request.policyId ? parsePolicyId(request.policyId) : randomPolicyId();
  const payer = await signer.getAddress();
  const owner = request.owner ?? payer;
  const deposit = policyDeposit(request.feeRate, request.periods, nodes.length);
  const pmAddress = await pm.getAddress();
  if ((await token.allowance(payer, pmAddress)) < deposit) {
    await (await token.connect(signer).approve(pmAddress, deposit)).wait();
  }
  // The period is read right before sending; a boundary crossed in between only shortens the policy by one
  // period's worth of deposit, and the event below reports the truth.
  const start = await pm.getCurrentPeriod();
  const tx = await pm.connect(signer).createPolicy(policyId, owner, nodes, start + request.periods, request.feeRate);
  const receipt = await tx.wait();
  const history = await readPolicy(pm, policyId);
  return { policyId, record: history.record, deposit: history.deposit, txHash: receipt?.hash ?? tx.hash };
}

/** Where to search a policy's events from (the PolicyManager's deployment block; see `readPolicy`). */
export interface PolicyLookup {
  fromBlock?: number;
}

/** An extended policy: its new record, the end it had, and what the extension cost. */
export interface ExtendedPolicy {
  policyId: string;
  record: PolicyRecord;
  previousEndPeriod: bigint;
  addedDeposit: bigint;
  txHash: string;
}

/**
 * The contract's rule for extensions and slot moves, checked before sending: the policy is not revoked and has
 * a period left after the next one. Returns the current period.
 */
async function requireLive(pm: PolicyManager, history: PolicyHistory): Promise<bigint> {
  const { policyId, record } = history;
  if (history.revoked) throw new PolicyNotLiveError(policyId, `was revoked (it ends at period ${record.endPeriod})`);
  const current = await pm.getCurrentPeriod();
  if (record.endPeriod <= current) throw new PolicyNotLiveError(policyId, `ended at period ${record.endPeriod}`);
  if (record.endPeriod === current + 1n) {
    throw new PolicyNotLiveError(
      policyId,
      `is in its last period (${current}): extensions and slot moves must be made before the last period begins`,
    );
  }
  return current;
}

/** Reads `policyId` and checks it can be extended to `newEndPeriod`; returns its history and the added deposit. */
async function prepareExtension(pm: PolicyManager, policyId: string, newEndPeriod: bigint, lookup: PolicyLookup) {
  const history = await readPolicy(pm, policyId, lookup);
  const { record } = history;
  if (newEndPeriod <= record.endPeriod) {
    throw new InvalidExtensionError(history.policyId, record.endPeriod, newEndPeriod);
  }
  await requireLive(pm, history);
  return { history, deposit: extensionDeposit(record, newEndPeriod) };
}

async function extended(
  pm: PolicyManager,
  history: PolicyHistory,
  deposit: bigint,
  txHash: string,
  lookup: PolicyLookup,
): Promise<ExtendedPolicy> {
  const { record } = await readPolicy(pm, history.policyId, lookup);
  return {
    policyId: history.policyId,
    record,
    previousEndPeriod: history.record.endPeriod,
    addedDeposit: deposit,
    txHash,
  };
}

/**
 * Extends `policyId` to `newEndPeriod` as its owner, approving the added deposit first if the allowance is short.
 * Takes the new end, not a number of periods: a retry after a lost answer then fails instead of paying twice, so
 * compute the end once (e.g. `record.endPeriod + periods`) and keep it.
 */
export async function extendPolicy(
  pm: PolicyManager,
  token: KMSToken,
  owner: Signer,
  policyId: string,
  newEndPeriod: bigint,
  lookup: PolicyLookup = {},
): Promise<ExtendedPolicy> {
  const { history, deposit } = await prepareExtension(pm, policyId, newEndPeriod, lookup);
  const payer = await owner.getAddress();
  const pmAddress = await pm.getAddress();
  if ((await token.allowance(payer, pmAddress)) < deposit) {
    await (await token.connect(owner).approve(pmAddress, deposit)).wait();
  }
  const tx = await pm.connect(owner).extendPolicy(history.policyId, history.record, newEndPeriod);
  const receipt = await tx.wait();
  return extended(pm, history, deposit, receipt?.hash ?? tx.hash, lookup);
}

/**
 * `extendPolicy` in one transaction: the owner signs an EIP-2612 permit for exactly the added deposit (which does
 * not depend on the current period), valid for `permitSeconds` (default one hour) of chain time.
 */
export async function extendPolicyWithPermit(
  pm: PolicyManager,
  token: KMSToken,
  owner: Signer,
  policyId: string,
  newEndPeriod: bigint,
  options: PolicyLookup & { permitSeconds?: bigint } = {},
): Promise<ExtendedPolicy> {
  const { history, deposit } = await prepareExtension(pm, policyId, newEndPeriod, options);
  const latest = await (owner.provider ?? pm.runner!.provider!).getBlock("latest");
  const deadline = BigInt(latest!.timestamp) + (options.permitSeconds ?? 3_600n);
  const sig = await signPermit(token, owner, { spender: await pm.getAddress(), value: deposit, deadline });
  const permit = { value: deposit, deadline, v: sig.v, r: sig.r, s: sig.s };
  const tx = await pm.connect(owner).extendPolicyWithPermit(history.policyId, history.record, newEndPeriod, permit);
  const receipt = await tx.wait();
  return extended(pm, history, deposit, receipt?.hash ?? tx.hash, options);
}

/** A moved slot: the new record, which node left and joined, the cut-over period and the settled refund. */
export interface MovedSlot {
  policyId: string;
  record: PolicyRecord;
  index: number;
  previousNode: string;
  node: string;
  /** The new node serves and earns from this period on (the next one at the move); the old node before it. */
  fromPeriod: bigint;
  /** Missed periods settled at the move and sent to the owner. */
  refunded: bigint;
  txHash: string;
}

/**
 * Moves a slot of `policyId` to `newNode` as its owner. `slot` is the slot's index or the address of the node
 * holding it.
 */
export async function moveSlot(
  pm: PolicyManager,
  owner: Signer,
  policyId: string,
  slot: number | string,
  newNode: string,
  lookup: PolicyLookup = {},
): Promise<MovedSlot> {
  const history = await readPolicy(pm, policyId, lookup);
  const id = history.policyId;
  const nodes = history.record.nodes.map((node) => getAddress(node));
  let index: number;
  if (typeof slot === "number") {
    if (!Number.isInteger(slot) || slot < 0 || slot >= nodes.length) {
      throw new InvalidSlotMoveError(id, `slot ${slot} does not exist (the policy has ${nodes.length} nodes)`);
    }
    index = slot;
  } else {
    if (!isAddress(slot)) throw new InvalidSlotMoveError(id, `${JSON.stringify(slot)} is not an address`);
    index = nodes.indexOf(getAddress(slot));
    if (index < 0) throw new InvalidSlotMoveError(id, `${getAddress(slot)} does not serve it`);
  }
  if (!isAddress(newNode)) throw new InvalidSlotMoveError(id, `${JSON.stringify(newNode)} is not an address`);
  if (nodes.includes(getAddress(newNode))) {
    throw new InvalidSlotMoveError(id, `${getAddress(newNode)} already serves it`);
  }
  await requireLive(pm, history);
  const tx = await pm.connect(owner).moveSlot(id, history.record, index, getAddress(newNode));
  const receipt = await tx.wait();
  let fromPeriod = 0n;
  let refunded = 0n;
  for (const log of receipt?.logs ?? []) {
    const event = pm.interface.parseLog(log);
    if (event?.name === "PolicySlotMoved") fromPeriod = event.args.fromPeriod;
    if (event?.name === "PolicyRefunded") refunded = event.args.refund;
  }
  const { record } = await readPolicy(pm, id, lookup);
  return {
    policyId: id,
    record,
    index,
    previousNode: nodes[index],
    node: getAddress(newNode),
    fromPeriod,
    refunded,
    txHash: receipt?.hash ?? tx.hash,
  };
}

/** Revokes `policyId` as its owner; returns the refund. */
export async function revokePolicy(pm: PolicyManager, owner: Signer, policyId: string): Promise<bigint> {
  const { record } = await readPolicy(pm, policyId);
  const refund = await pm.connect(owner).revokePolicy.staticCall(policyId, record);
  await (await pm.connect(owner).revokePolicy(policyId, record)).wait();
  return refund;
}

/** Signs a revocation of `policyId` as its owner, valid until `deadline`, for anyone to relay. */
export async function signPolicyRevocation(
  pm: PolicyManager,
  owner: Signer,
  policyId: string,
  deadline: bigint,
): Promise<string> {
  const id = parsePolicyId(policyId);
  const nonce = await pm.nonces(await owner.getAddress());
  const { chainId } = await (owner.provider ?? pm.runner!.provider!).getNetwork();
  return signRevoke(owner, chainId, await pm.getAddress(), { policyId: id, nonce, deadline });
}

/** Relays an owner's signed revocation; returns the refund sent to the owner. */
export async function relayRevocation(
  pm: PolicyManager,
  relayer: Signer,
  policyId: string,
  deadline: bigint,
  signature: string,
): Promise<bigint> {
  const { record } = await readPolicy(pm, policyId);
  const refund = await pm.connect(relayer).revokePolicyWithSig.staticCall(policyId, record, deadline, signature);
  await (await pm.connect(relayer).revokePolicyWithSig(policyId, record, deadline, signature)).wait();
  return refund;
}

/** Refunds the owner the missed periods of `policyId` settled so far; returns the amount. */
export async function refundPolicy(pm: PolicyManager, owner: Signer, policyId: string): Promise<bigint> {
  const { record } = await readPolicy(pm, policyId);
  const amount = await pm.connect(owner).refund.staticCall(policyId, record);
  await (await pm.connect(owner).refund(policyId, record)).wait();
  return amount;
}

/** Withdraws the signer's (a node's) fees; returns the amount. */
export async function withdrawFees(pm: PolicyManager, node: Signer): Promise<bigint> {
  const amount = await pm.connect(node).withdrawFees.staticCall();
  await (await pm.connect(node).withdrawFees()).wait();
  return amount;
}

/** Sets `node`'s minimum fee rate, signed by the node or its operator. */
export async function setMinFeeRate(pm: PolicyManager, signer: Signer, node: string, minFeeRate: bigint) {
  await (await pm.connect(signer).setMinFeeRate(node, minFeeRate)).wait();
}
