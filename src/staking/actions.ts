// Staking operations as the tasks, the demo and the node daemon run them: one function per user action,
// each waiting for its transaction and returning the receipt.
import { ZeroAddress, type ContractTransactionReceipt, type ContractTransactionResponse, type Signer } from "ethers";
import type { KMSToken, StakingEscrow } from "../../typechain-types";
import { InvalidPeriodsError, StakingError } from "./errors";

async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new StakingError("transaction was dropped before it was mined");
  return receipt;
}

function positivePeriods(what: string, periods: bigint): bigint {
  if (periods <= 0n) throw new InvalidPeriodsError(what, periods);
  return periods;
}

/**
 * Deposits `amount` wei for `signer`, approving the escrow first if the allowance is short; with
 * `lockPeriods`, locks it too in the same transaction (`depositAndLock`).
 */
export async function deposit(
  token: KMSToken,
  escrow: StakingEscrow,
  signer: Signer,
  amount: bigint,
  lockPeriods?: bigint,
): Promise<ContractTransactionReceipt> {
  const owner = await signer.getAddress();
  const spender = await escrow.getAddress();
  if ((await token.allowance(owner, spender)) < amount) {
    await mined(token.connect(signer).approve(spender, amount));
  }
  if (lockPeriods === undefined) return mined(escrow.connect(signer).deposit(amount));
  return mined(escrow.connect(signer).depositAndLock(amount, lockPeriods));
}

/** Locks `amount` more of the unlocked stake, for at least `periods` from now (0 keeps the current end). */
export function lock(escrow: StakingEscrow, signer: Signer, amount: bigint, periods: bigint) {
  if (periods < 0n) throw new InvalidPeriodsError("lock periods", periods);
  return mined(escrow.connect(signer).lock(amount, periods));
}

/** Extends the active lock by `periods`. */
export function prolong(escrow: StakingEscrow, signer: Signer, periods: bigint) {
  return mined(escrow.connect(signer).prolong(positivePeriods("prolong periods", periods)));
}

/**
 * Proposes `operator` as the staker's node key (the zero address unbonds). The operator must then accept with
 * {@link confirmOperator} (the node daemon does it on start), unless it is the staker itself or a key the
 * staker's node used before.
 */
export function bondOperator(escrow: StakingEscrow, signer: Signer, operator: string) {
  return mined(escrow.connect(signer).bondOperator(operator));
}

/** Called with the operator key: accepts `staker`'s proposal, after which the key serves that staker for ever. */
export function confirmOperator(escrow: StakingEscrow, operator: Signer, staker: string) {
  return mined(escrow.connect(operator).confirmOperator(staker));
}

/**
 * The staker `operator` serves, confirming a pending proposal first if there is one: `staker` when given,
 * else the staker of the latest {OperatorBonded} event naming `operator` (searched from `fromBlock`).
 * Returns undefined when no staker confirmed or proposed `operator`.
 */
export async function confirmedStakerOf(
  escrow: StakingEscrow,
  operator: Signer,
  options: { staker?: string; fromBlock?: number } = {},
): Promise<{ staker: string; confirmedNow: boolean } | undefined> {
  const address = await operator.getAddress();
  const known = await escrow.stakerFromOperator(address);
  if (known !== ZeroAddress) return { staker: known, confirmedNow: false };
  let staker = options.staker;
  if (!staker) {
    const events = await escrow.queryFilter(escrow.filters.OperatorBonded(undefined, address), options.fromBlock ?? 0);
    staker = events.at(-1)?.args.staker;
  }
  if (!staker || (await escrow.pendingOperatorOf(staker)) !== address) return undefined;
  await confirmOperator(escrow, operator, staker);
  return { staker, confirmedNow: true };
}

/** Commits the operator's staker to the next period (and mints its past rewards). */
export function commit(escrow: StakingEscrow, operator: Signer) {
  return mined(escrow.connect(operator).commitToNextPeriod());
}

/** Mints the staker's reward for fully past committed periods. */
export function mint(escrow: StakingEscrow, signer: Signer) {
  return mined(escrow.connect(signer).mint());
}

/** Withdraws `amount` of unlocked stake. */
export function withdraw(escrow: StakingEscrow, signer: Signer, amount: bigint) {
  return mined(escrow.connect(signer).withdraw(amount));
}

/** Parses a whole number of periods typed by a person ("30"); `allowZero` for "keep the current end". */
export function parsePeriods(what: string, text: string, allowZero = false): bigint {
  if (!/^\d+$/.test(text.trim())) throw new InvalidPeriodsError(what, JSON.stringify(text));
  const periods = BigInt(text.trim());
  if (periods === 0n && !allowZero) throw new InvalidPeriodsError(what, periods);
  return periods;
}
