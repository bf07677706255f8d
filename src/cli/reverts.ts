// Contract reverts in words: the revert data is found wherever ethers or Hardhat put it, decoded against the
// errors of every compiled contract (the system's and OpenZeppelin's), and said in the user's units — amounts
// in KMS, never wei, never a hex selector.
import { ErrorFragment, Interface, type Result } from "ethers";
import { formatKms } from "../units";

/** Where the errors come from: Hardhat's artifacts (hre.artifacts). */
export interface ArtifactSource {
  getAllFullyQualifiedNames(): Promise<string[]>;
  readArtifact(name: string): Promise<{ abi: readonly unknown[] }>;
}

/** A decoded revert: the error's name and its arguments by parameter name. */
export interface DecodedRevert {
  name: string;
  args: Record<string, unknown>;
  /** The parameters in order, for a generic rendering. */
  params: { name: string; type: string; value: unknown }[];
}

/** One interface holding every custom error any compiled contract declares (deduplicated by signature). */
export async function errorInterfaceOf(artifacts: ArtifactSource): Promise<Interface> {
  const signatures = new Set<string>();
  for (const name of await artifacts.getAllFullyQualifiedNames()) {
    const { abi } = await artifacts.readArtifact(name);
    for (const item of abi as { type?: string }[]) {
      if (item.type !== "error") continue;
      signatures.add(ErrorFragment.from(item).format("full"));
    }
  }
  return new Interface([...signatures]);
}

const HEX = /^0x([0-9a-fA-F]{2})*$/;

/**
 * The revert data carried by `error`, wherever the layers put it: `data` on Hardhat's provider errors, `data`,
 * `error.data`, `info.error.data` on ethers errors, or the "return data: 0x…" of a Hardhat node's message.
 */
export function findRevertData(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 5) return undefined;
  const record = error as Record<string, unknown>;
  const data = record.data;
  if (typeof data === "string" && HEX.test(data) && data.length >= 10) return data;
  if (typeof data === "object" && data !== null) {
    const nested = (data as Record<string, unknown>).data;
    if (typeof nested === "string" && HEX.test(nested) && nested.length >= 10) return nested;
  }
  for (const key of ["error", "info", "cause", "parent"]) {
    const found = findRevertData(record[key], depth + 1);
    if (found) return found;
  }
  const message = typeof record.message === "string" ? record.message : "";
  return /return data: (0x[0-9a-fA-F]{8,})/.exec(message)?.[1];
}

/** Decodes `data` against `errors`; undefined when no known error has its selector. */
export function decodeRevert(errors: Interface, data: string): DecodedRevert | undefined {
  let parsed: ReturnType<Interface["parseError"]>;
  try {
    parsed = errors.parseError(data);
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  const inputs = parsed.fragment.inputs;
  const args: Record<string, unknown> = {};
  const params = inputs.map((input, i) => {
    const value = (parsed.args as Result)[i];
    if (input.name) args[input.name] = value;
    return { name: input.name, type: input.type, value };
  });
  return { name: parsed.name, args, params };
}

/** Parameter names that hold token amounts (wei) in the contracts' errors: shown in KMS. */
const AMOUNT_PARAM =
  /value|amount|balance|needed|allowance|requested|available|stake|fee|penalty|reward|refund|^min$|^max$/i;

/** A value as a person reads it: amounts in KMS, everything else as it is. */
function show(param: { name: string; type: string; value: unknown }): string {
  if (typeof param.value === "bigint" && param.type.startsWith("uint") && AMOUNT_PARAM.test(param.name)) {
    return `${formatKms(param.value)} KMS`;
  }
  return String(param.value);
}

const kms = (value: unknown) => `${formatKms(value as bigint)} KMS`;

/** What each common revert means and what to do about it. */
const EXPLAIN: Record<string, (a: Record<string, unknown>) => string> = {
  ERC20InsufficientBalance: (a) =>
    `${a.sender} holds ${kms(a.balance)} but ${kms(a.needed)} are needed: get KMS first (kms transfer --to ${a.sender} --amount …)`,
  ERC20InsufficientAllowance: (a) =>
    `the allowance of ${a.spender} is ${kms(a.allowance)} but ${kms(a.needed)} are needed: approve more`,
  InsufficientUnlocked: (a) =>
    `asked for ${kms(a.requested)} but only ${kms(a.available)} of the stake is unlocked (kms staker shows it)`,
  LockBelowMinimum: (a) =>
    `the lock would total ${kms(a.lockedValue)}, below the minimum stake of ${kms(a.minStake)}: lock more`,
  LockAboveMaximum: (a) => `the lock would total ${kms(a.lockedValue)}, above the maximum stake of ${kms(a.maxStake)}`,
  LockTooShort: (a) => `a lock must last at least ${a.minPeriods} periods, not ${a.periods}`,
  NoActiveLock: (a) => `${a.staker} has no active lock (kms lock --periods <n> starts one)`,
  NotOperator: (a) =>
    `${a.caller} is not the confirmed operator of any staker (kms bond-operator, then kms confirm-operator)`,
  NothingToMint: (a) => `${a.staker} has no reward to mint yet (rewards come from fully past committed periods)`,
  AlreadyCommitted: (a) => `${a.staker} is already committed to period ${a.period}`,
  NotLockedForPeriod: (a) =>
    `${a.staker}'s lock ends at period ${a.unlockPeriod}, too early to commit to period ${a.period}: kms prolong`,
  ZeroAmount: () => `the amount must be more than 0 KMS`,
  OperatorCannotStake: (a) => `${a.account} is the operator of ${a.staker} and cannot stake itself`,
  OperatorAlreadyBonded: (a) => `operator ${a.operator} already serves staker ${a.staker}`,
  OperatorIsStaker: (a) => `${a.operator} is a staker and cannot be another staker's operator`,
  OperatorUnchanged: (a) => `${a.operator} is already this staker's operator`,
  NotProposedOperator: (a) =>
    `${a.caller} was not proposed as the operator of ${a.staker} (the staker runs kms bond-operator first)`,
  OperatorAlreadyConfirmed: (a) => `${a.operator} is already the confirmed operator of ${a.staker}`,
  RebondTooSoon: (a) => `the operator can change again from period ${a.earliestPeriod} (now ${a.currentPeriod})`,
  RebondWhileCommitted: (a) =>
    `the node is committed through period ${a.committedPeriod}; change the operator after it`,
  FeeRateOutOfRange: (a) =>
    `fee rate ${kms(a.feeRate)} per node per period is outside the allowed ${kms(a.min)} to ${kms(a.max)}`,
  FeeRateNotMultipleOfUnit: (a) =>
    `fee rate ${kms(a.feeRate)} is not a multiple of ${kms(a.unit)} (at most 9 decimals)`,
  FeeRateBelowNodeMinimum: (a) =>
    `node ${a.node} asks at least ${kms(a.minFeeRate)} per period; the fee rate is ${kms(a.feeRate)}`,
  PolicyEnded: (a) =>
    `policy ${a.policyId} ended at period ${a.endPeriod} (now ${a.currentPeriod}): it can no longer be extended nor healed`,
  PolicyInLastPeriod: (a) =>
    `policy ${a.policyId} ends at period ${a.endPeriod}, right after this one (${a.currentPeriod}), or was revoked: too late to extend it or move a slot`,
  EndPeriodNotLater: (a) =>
    `policy ${a.policyId} already runs until period ${a.endPeriod}; the new end ${a.newEndPeriod} must be later (was it extended already?)`,
  SlotIndexOutOfRange: (a) => `slot ${a.index} does not exist: the policy has ${a.count} nodes`,
  DuplicateNode: (a) => `node ${a.node} is already in the policy (or listed twice)`,
  PolicyNotRevocable: (a) =>
    `the policy ends at period ${a.endPeriod} and it is period ${a.currentPeriod}: nothing left to revoke (kms refund returns missed periods)`,
  NotPolicyOwner: (a) => `${a.caller} is not the owner of policy ${a.policyId}; its owner is ${a.owner} (--from)`,
  NothingToRefund: (a) => `policy ${a.policyId} has nothing to refund now`,
  NothingToWithdraw: (a) => `${a.node} has no fees to withdraw now`,
  PolicyAlreadyExists: (a) => `a policy with id ${a.policyId} already exists`,
  UnknownPolicy: (a) => `there is no policy ${a.policyId}`,
  NodeNotBonded: (a) => `node ${a.node} has no confirmed operator`,
  NodeNotLocked: (a) =>
    `node ${a.node}'s lock (${kms(a.lockedValue)} until period ${a.unlockPeriod}) does not cover the policy (needs period ${a.requiredPeriod})`,
  InvalidEndPeriod: (a) =>
    `the policy would end at period ${a.endPeriod}, not after the current period ${a.currentPeriod}`,
  NotNodeOrOperator: (a) => `${a.caller} is neither node ${a.node} nor its operator`,
  RevokeSignatureExpired: (a) => `the revocation signature expired at ${a.deadline} (now ${a.timestamp})`,
  InvalidRevokeSignature: (a) => `the revocation signature is not the owner's (${a.owner})`,
  EvidenceAlreadyEvaluated: (a) => `this evidence against ${a.staker} was already judged a cheat; it counts once`,
  NothingToClaim: (a) =>
    `there is no reporter reward to claim for this evidence against ${a.staker} (not judged a cheat, or already claimed)`,
  PenaltyExceedsHeld: (a) => `the escrow holds only ${kms(a.held)} of unsettled penalties, not ${kms(a.penalty)}`,
  NotBondedOperator: (a) => `the cfrag was signed by ${a.operator}, which is no staker's bonded operator`,
  MinFeeRateTooLarge: (a) => `a minimum fee rate of ${kms(a.minFeeRate)} is above the largest allowed fee rate`,
  StaleConditionsVersion: (a) =>
    `policy ${a.policyId} already commits to conditions version ${a.held}; the new set's version ${a.given} must be higher`,
  InvalidConditionsSignature: (a) =>
    `the condition set's signature is not the policy owner's (${a.owner}) for version ${a.version}`,
  NoConditionsGiven: (a) => `policy ${a.policyId}: the zero conditions hash means no conditions (create it without)`,
};

/** One sentence for a decoded revert: the known explanation, else the error's name and its arguments. */
export function explainRevert(revert: DecodedRevert): string {
  const explain = EXPLAIN[revert.name];
  if (explain) return explain(revert.args);
  const shown = revert.params.map((p) => (p.name ? `${p.name} ${show(p)}` : show(p))).join(", ");
  return `${revert.name}${shown ? ` (${shown})` : ""}`;
}
