// The obvious, checked before sending: each function reads the chain and throws a PreflightError saying, in
// KMS, why the transaction would fail and what to do, so that most mistakes cost no gas. The contracts check
// everything again; these checks only speak first.
import { ZeroAddress } from "ethers";
import type { KMSToken, PolicyManager, StakingEscrow } from "../../typechain-types";
import { policyDeposit, type PolicyRecord } from "../policy";
import { formatKms } from "../units";
import { PreflightError } from "./errors";

const kms = (wei: bigint) => `${formatKms(wei)} KMS`;

/** `account` must hold at least `amount` KMS to pay `what`. */
export async function checkBalance(token: KMSToken, account: string, amount: bigint, what: string): Promise<void> {
  const balance = await token.balanceOf(account);
  if (balance < amount) {
    throw new PreflightError(
      `${account} holds ${kms(balance)}, not enough for ${what} of ${kms(amount)}: ` +
        `send it KMS first (kms transfer --to ${account} --amount …)`,
    );
  }
}

/** An operator key may not stake (it serves another staker). */
async function checkNotOperator(escrow: StakingEscrow, account: string): Promise<void> {
  const staker = await escrow.stakerFromOperator(account);
  if (staker !== ZeroAddress && staker !== account) {
    throw new PreflightError(`${account} is the operator of staker ${staker} and cannot stake; use another account`);
  }
}

/**
 * A lock of `amount` more for at least `periods` from now (0: keep the current end) must leave the lock
 * within [minStake, maxStake], last at least minLockPeriods, and take no more than the unlocked stake
 * (`unlockedExtra` is stake about to be deposited in the same transaction).
 */
async function checkLockOf(
  escrow: StakingEscrow,
  staker: string,
  amount: bigint,
  periods: bigint,
  unlockedExtra = 0n,
): Promise<void> {
  const [info, current, minStake, maxStake, minLock] = await Promise.all([
    escrow.getStakerInfo(staker),
    escrow.getCurrentPeriod(),
    escrow.minStake(),
    escrow.maxStake(),
    escrow.minLockPeriods(),
  ]);
  const active = current < info.unlockPeriod && info.lockedValue > 0n;
  const locked = active ? info.lockedValue : 0n;
  const available = info.stake + unlockedExtra - locked;
  if (amount > available) {
    throw new PreflightError(`cannot lock ${kms(amount)}: only ${kms(available)} of ${staker}'s stake is unlocked`);
  }
  if (periods === 0n && !active) {
    throw new PreflightError(`${staker} has no active lock to keep the end of: give --periods (at least ${minLock})`);
  }
  const end = active && info.unlockPeriod > current + periods ? info.unlockPeriod : current + periods;
  if (end - current < minLock) {
    throw new PreflightError(
      `a lock must last at least ${minLock} periods from now; this one would last ${end - current}`,
    );
  }
  const total = locked + amount;
  if (total < minStake) {
    throw new PreflightError(
      `the lock would total ${kms(total)}, below the minimum stake of ${kms(minStake)}: lock more`,
    );
  }
  if (total > maxStake) {
    throw new PreflightError(`the lock would total ${kms(total)}, above the maximum stake of ${kms(maxStake)}`);
  }
}

/** A deposit of `amount` (and a lock of it for `lockPeriods`, if given) by `staker`. */
export async function checkDeposit(
  token: KMSToken,
  escrow: StakingEscrow,
  staker: string,
  amount: bigint,
  lockPeriods?: bigint,
): Promise<void> {
  await checkBalance(token, staker, amount, "a deposit");
  await checkNotOperator(escrow, staker);
  if (lockPeriods !== undefined) await checkLockOf(escrow, staker, amount, lockPeriods, amount);
}

/** A lock of `amount` more of `staker`'s unlocked stake for at least `periods` (0 keeps the end). */
export function checkLock(escrow: StakingEscrow, staker: string, amount: bigint, periods: bigint): Promise<void> {
  return checkLockOf(escrow, staker, amount, periods);
}

/** Prolonging needs an active lock. */
export async function checkProlong(escrow: StakingEscrow, staker: string): Promise<void> {
  const [info, current] = await Promise.all([escrow.getStakerInfo(staker), escrow.getCurrentPeriod()]);
  if (info.lockedValue === 0n || current >= info.unlockPeriod) {
    throw new PreflightError(`${staker} has no active lock to prolong (kms lock --amount … --periods … starts one)`);
  }
}

/** A withdrawal of `amount` needs that much unlocked stake. */
export async function checkWithdraw(escrow: StakingEscrow, staker: string, amount: bigint): Promise<void> {
  const [info, current] = await Promise.all([escrow.getStakerInfo(staker), escrow.getCurrentPeriod()]);
  const locked = current < info.unlockPeriod ? info.lockedValue : 0n;
  const withdrawable = info.stake - locked;
  if (amount > withdrawable) {
    throw new PreflightError(
      `cannot withdraw ${kms(amount)}: ${staker} can withdraw ${kms(withdrawable)} now ` +
        `(stake ${kms(info.stake)}, locked ${kms(locked)}${locked > 0n ? ` until period ${info.unlockPeriod}` : ""})`,
    );
  }
}

/** Committing needs a confirmed operator key. */
export async function checkOperator(escrow: StakingEscrow, operator: string): Promise<string> {
  const staker = await escrow.stakerFromOperator(operator);
  if (staker === ZeroAddress) {
    throw new PreflightError(
      `${operator} is not the confirmed operator of any staker (the staker runs kms bond-operator, then the operator kms confirm-operator)`,
    );
  }
  return staker;
}

/** Bonding an operator needs an active lock of at least the minimum stake. */
export async function checkCanBond(escrow: StakingEscrow, staker: string): Promise<void> {
  const [info, current, minStake] = await Promise.all([
    escrow.getStakerInfo(staker),
    escrow.getCurrentPeriod(),
    escrow.minStake(),
  ]);
  const locked = current < info.unlockPeriod ? info.lockedValue : 0n;
  if (locked < minStake) {
    throw new PreflightError(
      `${staker} locks ${kms(locked)}; bonding an operator needs an active lock of at least ${kms(minStake)} (kms deposit --lock …)`,
    );
  }
}

/** A fee rate must lie in the PolicyManager's range and meet every node's minimum. */
export async function checkFeeRate(pm: PolicyManager, feeRate: bigint, nodes: readonly string[] = []): Promise<void> {
  const [min, max] = await pm.feeRateRange();
  if (feeRate < min || feeRate > max) {
    throw new PreflightError(
      `fee rate ${kms(feeRate)} per node per period is outside the allowed range, ${kms(min)} to ${kms(max)}`,
    );
  }
  for (const node of nodes) {
    const minimum = await pm.minFeeRateOf(node);
    if (feeRate < minimum) {
      throw new PreflightError(`node ${node} asks at least ${kms(minimum)} per period; --fee-rate is ${kms(feeRate)}`);
    }
  }
}

/**
 * Paying for a policy of `shares` nodes over `periods` at `feeRate`: the rate must pass {@link checkFeeRate}
 * (against `nodes`, where they are chosen already) and `payer` must hold the deposit, called `what` if refused.
 */
export async function checkPolicyPayment(
  contracts: { token: KMSToken; policyManager: PolicyManager },
  payer: string,
  payment: { feeRate: bigint; periods: bigint; shares: number; nodes?: readonly string[] },
  what = "the policy deposit",
): Promise<void> {
  const { feeRate, periods, shares, nodes } = payment;
  await checkFeeRate(contracts.policyManager, feeRate, nodes);
  await checkBalance(contracts.token, payer, policyDeposit(feeRate, periods, shares), what);
}

/** Acting on a policy as its owner needs the owner's account. */
export function checkPolicyOwner(policyId: string, record: PolicyRecord, sender: string): void {
  if (record.owner.toLowerCase() !== sender.toLowerCase()) {
    throw new PreflightError(
      `${sender} is not the owner of policy ${policyId}; its owner is ${record.owner} (give --from ${record.owner})`,
    );
  }
}
