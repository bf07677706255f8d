// Staking tasks: deposit, lock, prolong, bond an operator, commit, mint, withdraw, inspect, advance time.
// Thin: parse arguments, check the obvious (src/cli/checks), call src/staking, print.
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { kmsTypes, parseAmount } from "../src/cli/args";
import { checkCanBond, checkDeposit, checkLock, checkOperator, checkProlong, checkWithdraw } from "../src/cli/checks";
import { formatDuration, toJson } from "../src/cli/print";
import {
  advancePeriods,
  bondOperator,
  confirmOperator,
  commit,
  deposit,
  describeStaker,
  formatStaker,
  lock,
  mint,
  parsePeriods,
  prolong,
  withdraw,
} from "../src/staking";
import type { StakingEscrow } from "../typechain-types";

/** "until period 123 (in 60 periods of 1 day)": what a lock end means in time. */
async function lockEnd(escrow: StakingEscrow, unlockPeriod: bigint): Promise<string> {
  const [current, duration] = await Promise.all([escrow.getCurrentPeriod(), escrow.periodDuration()]);
  return `until period ${unlockPeriod} (${unlockPeriod - current} periods of ${formatDuration(duration)} from now)`;
}

kms
  .task("deposit", "Deposits KMS into the staking escrow, optionally locking it")
  .addParam("amount", "Amount in KMS, e.g. 15000 or 0.5", undefined, kmsTypes.kms)
  .addOptionalParam(
    "lock",
    "Also lock it for this many periods (kms status shows a period's length)",
    undefined,
    kmsTypes.periods,
  )
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { amount: string; lock?: string; from?: string }, hre) => {
    const amount = parseAmount(args.amount, "--amount");
    const periods = args.lock === undefined ? undefined : parsePeriods("lock periods", args.lock);
    const { token, escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await checkDeposit(token, escrow, signer.address, amount, periods);
    await deposit(token, escrow, signer, amount, periods);
    const locked = periods ? `, locked ${await lockEnd(escrow, (await escrow.getLock(signer.address))[1])}` : "";
    console.log(`${signer.address} deposited ${formatKms(amount)} KMS${locked}`);
  });

kms
  .task("lock", "Locks more of the unlocked stake")
  .addParam("amount", "Amount in KMS", undefined, kmsTypes.kms)
  .addParam(
    "periods",
    "The lock lasts at least this many periods from now; 0 keeps the end of an active lock",
    undefined,
    kmsTypes.periods,
  )
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { amount: string; periods: string; from?: string }, hre) => {
    const amount = parseAmount(args.amount, "--amount");
    const periods = parsePeriods("lock periods", args.periods, true);
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await checkLock(escrow, signer.address, amount, periods);
    await lock(escrow, signer, amount, periods);
    const [lockedValue, unlockPeriod] = await escrow.getLock(signer.address);
    console.log(`${signer.address} now locks ${formatKms(lockedValue)} KMS ${await lockEnd(escrow, unlockPeriod)}`);
  });

kms
  .task("prolong", "Extends the active lock")
  .addParam("periods", "Periods to add", undefined, kmsTypes.periods)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { periods: string; from?: string }, hre) => {
    const periods = parsePeriods("prolong periods", args.periods);
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await checkProlong(escrow, signer.address);
    await prolong(escrow, signer, periods);
    const [, unlockPeriod] = await escrow.getLock(signer.address);
    console.log(`${signer.address} lock now lasts ${await lockEnd(escrow, unlockPeriod)}`);
  });

kms
  .task(
    "bond-operator",
    "Proposes the node's operator address (0x000…0 unbonds); the operator confirms it (kms confirm-operator, or its node on start)",
  )
  .addParam("operator", "Operator: address or account index (#4)", undefined, kmsTypes.account)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { operator: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const operator = await addressFor(hre, args.operator);
    await checkCanBond(escrow, signer.address);
    await escrow.connect(signer).bondOperator.staticCall(operator); // a refusal costs no gas
    await bondOperator(escrow, signer, operator);
    if ((await escrow.pendingOperatorOf(signer.address)) === operator) {
      console.log(
        `${signer.address} proposed operator ${operator}; it counts once the operator confirms ` +
          `(its node does on start, or: npx hardhat kms confirm-operator --staker ${signer.address} --from ${operator})`,
      );
    } else {
      console.log(`${signer.address} bonded operator ${operator}`);
    }
  });

kms
  .task("confirm-operator", "Run with the operator key: accepts a staker's bond (the node daemon does it on start)")
  .addParam("staker", "The staker that proposed this operator: address or account index", undefined, kmsTypes.account)
  .addOptionalParam("from", `The operator. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { staker: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const operator = await signerFor(hre, args.from);
    const staker = await addressFor(hre, args.staker);
    await escrow.connect(operator).confirmOperator.staticCall(staker); // a refusal costs no gas
    await confirmOperator(escrow, operator, staker);
    console.log(`${operator.address} confirmed as the operator of staker ${staker}`);
  });

kms
  .task("commit", "Commits the operator's staker to the next period (mints past rewards)")
  .addOptionalParam("from", `The operator. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const operator = await signerFor(hre, args.from);
    await checkOperator(escrow, operator.address);
    await escrow.connect(operator).commitToNextPeriod.staticCall(); // a refusal costs no gas
    await commit(escrow, operator);
    const staker = await escrow.stakerFromOperator(operator.address);
    const [, last] = await escrow.getCommittedPeriods(staker);
    console.log(`operator ${operator.address} committed staker ${staker} to period ${last}`);
  });

kms
  .task("mint", "Mints the reward of fully past committed periods into the stake")
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const before = await escrow.stakeOf(signer.address);
    await escrow.connect(signer).mint.staticCall(); // a refusal costs no gas
    await mint(escrow, signer);
    const minted = (await escrow.stakeOf(signer.address)) - before;
    console.log(`${signer.address} minted ${formatKms(minted)} KMS`);
  });

kms
  .task("withdraw", "Withdraws unlocked stake (deposits and minted rewards)")
  .addParam("amount", "Amount in KMS", undefined, kmsTypes.kms)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { amount: string; from?: string }, hre) => {
    const amount = parseAmount(args.amount, "--amount");
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await checkWithdraw(escrow, signer.address, amount);
    await withdraw(escrow, signer, amount);
    console.log(`${signer.address} withdrew ${formatKms(amount)} KMS`);
  });

kms
  .task("staker", "Prints a staker's stake, lock, operator, committed periods and pending reward")
  .addParam("address", "Staker: address or account index (#3)", undefined, kmsTypes.account)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async (args: { address: string; json: boolean }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const summary = await describeStaker(escrow, await addressFor(hre, args.address));
    if (args.json) console.log(toJson(summary));
    else for (const line of formatStaker(summary)) console.log(line);
    return summary;
  });

kms
  .task("advance-periods", "Moves a local chain forward to the start of the period N periods ahead")
  .addPositionalParam("n", "Number of periods", undefined, kmsTypes.periods)
  .setAction(async (args: { n: string }, hre) => {
    const periods = parsePeriods("periods to advance", args.n);
    const { escrow } = await loadDeployment(hre);
    const period = await advancePeriods(hre, escrow, periods);
    console.log(`now in period ${period}`);
    return period;
  });
