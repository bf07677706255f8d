// Staking tasks: deposit, lock, prolong, bond an operator, commit, mint, withdraw, inspect, advance time.
// Thin: parse arguments, call src/staking, print.
import { types } from "hardhat/config";
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms, parseKms } from "../src/units";
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

/** The signer for `from` (an address among the configured accounts), or the first account. */
kms
  .task("deposit", "Deposits KMS into the staking escrow, optionally locking it")
  .addParam("amount", "Amount in KMS, e.g. 15000 or 0.5", undefined, types.string)
  .addOptionalParam("lock", "Also lock it for this many periods", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { amount: string; lock?: string; from?: string }, hre) => {
    const { token, escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const amount = parseKms(args.amount);
    const periods = args.lock === undefined ? undefined : parsePeriods("lock periods", args.lock);
    await deposit(token, escrow, signer, amount, periods);
    console.log(
      `${signer.address} deposited ${formatKms(amount)} KMS${periods ? `, locked for ${periods} periods` : ""}`,
    );
  });

kms
  .task("lock", "Locks more of the unlocked stake")
  .addParam("amount", "Amount in KMS", undefined, types.string)
  .addParam(
    "periods",
    "Lock lasts at least this many periods from now (0 keeps the current end)",
    undefined,
    types.string,
  )
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { amount: string; periods: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await lock(escrow, signer, parseKms(args.amount), parsePeriods("lock periods", args.periods, true));
    const [lockedValue, unlockPeriod] = await escrow.getLock(signer.address);
    console.log(`${signer.address} now locks ${formatKms(lockedValue)} KMS until period ${unlockPeriod}`);
  });

kms
  .task("prolong", "Extends the active lock")
  .addParam("periods", "Periods to add", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { periods: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    await prolong(escrow, signer, parsePeriods("prolong periods", args.periods));
    const [, unlockPeriod] = await escrow.getLock(signer.address);
    console.log(`${signer.address} lock now ends at period ${unlockPeriod}`);
  });

kms
  .task(
    "bond-operator",
    "Proposes the node's operator address (0x000…0 unbonds); the operator confirms it (kms confirm-operator, or its node on start)",
  )
  .addParam("operator", "Operator address", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { operator: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const operator = await addressFor(hre, args.operator);
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
  .addParam("staker", "The staker that proposed this operator", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { staker: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const operator = await signerFor(hre, args.from);
    const staker = await addressFor(hre, args.staker);
    await confirmOperator(escrow, operator, staker);
    console.log(`${operator.address} confirmed as the operator of staker ${staker}`);
  });

kms
  .task("commit", "Commits the operator's staker to the next period (mints past rewards)")
  .addOptionalParam("from", "Operator account (default: the first configured account)", undefined, types.string)
  .setAction(async (args: { from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const operator = await signerFor(hre, args.from);
    await commit(escrow, operator);
    const staker = await escrow.stakerFromOperator(operator.address);
    const [, last] = await escrow.getCommittedPeriods(staker);
    console.log(`operator ${operator.address} committed staker ${staker} to period ${last}`);
  });

kms
  .task("mint", "Mints the reward of fully past committed periods into the stake")
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const before = await escrow.stakeOf(signer.address);
    await mint(escrow, signer);
    const minted = (await escrow.stakeOf(signer.address)) - before;
    console.log(`${signer.address} minted ${formatKms(minted)} KMS`);
  });

kms
  .task("withdraw", "Withdraws unlocked stake (deposits and minted rewards)")
  .addParam("amount", "Amount in KMS", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { amount: string; from?: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const amount = parseKms(args.amount);
    await withdraw(escrow, signer, amount);
    console.log(`${signer.address} withdrew ${formatKms(amount)} KMS`);
  });

kms
  .task("staker", "Prints a staker's stake, lock, operator, committed periods and pending reward")
  .addParam("address", "Staker: address or account index (#3)", undefined, types.string)
  .setAction(async (args: { address: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const summary = await describeStaker(escrow, await addressFor(hre, args.address));
    for (const line of formatStaker(summary)) console.log(line);
    return summary;
  });

kms
  .task("advance-periods", "Moves a local chain forward to the start of the period N periods ahead")
  .addPositionalParam("n", "Number of periods", undefined, types.string)
  .setAction(async (args: { n: string }, hre) => {
    const { escrow } = await loadDeployment(hre);
    const period = await advancePeriods(hre, escrow, parsePeriods("periods to advance", args.n));
    console.log(`now in period ${period}`);
    return period;
  });
