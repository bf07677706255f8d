// Policy operations as the CLI and the client run them: each resolves what the contract needs (sorted nodes,
// the deposit's allowance, the current record rebuilt from events) and sends one transaction.
import type { Signer } from "ethers";
import type { KMSToken, PolicyManager } from "../../typechain-types";
import { InvalidPeriodsError } from "./errors";
import { parsePolicyId, randomPolicyId } from "./id";
import { policyDeposit, sortNodes, type PolicyRecord } from "./record";
import { signRevoke } from "./revoke";
import { readPolicy } from "./state";

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
