// Gas of StakingEscrow's operations on the deployed configuration (the escrow wired to its PolicyManager, so
// every commitment runs the PolicyManager's onCommit hook): staking, then commitments in each condition that
// changes their cost (nothing to mint or a mint, first commit of the period or a later one, 0 / 1 / 1,000
// policies served, a new 16-period block of commitment bits), and commit+mint at 1, 100 and 1,000 stakers to show
// it is flat in the number of stakers.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { GasRow, GasSection } from "./types";
import { alignToBlock, gasOf } from "./types";
import {
  commitAll,
  createPolicies,
  deployKMS,
  newAccount,
  newNode,
  newPayer,
  newWallet,
  nextPeriod,
  type Deployed,
  type Node,
} from "./deployed";
import { signPermit } from "../../src/token/permit";
import { sortNodes } from "../../src/policy";
import { DEFAULT_MIN_FEE_RATE, DEFAULT_MIN_STAKE, DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";

const STAKE = DEFAULT_MIN_STAKE * 2n;
const LOCK_PERIODS = 365n;
const NUCYPHER_COMMIT = "166–418k";
const BARE = 50_000n;
const FIRST_OF_PERIOD = 75_000n;
const LATER = 60_000n;

/** The node's commitment, as the node daemon sends it (naming its staker). */
function commit(d: Deployed, node: Node) {
  return gasOf(d.escrow.connect(node.operator).commitToNextPeriodFor(node.staker.address));
}

async function staking(hre: HardhatRuntimeEnvironment, d: Deployed): Promise<GasRow[]> {
  const { escrow } = d;
  const escrowAddress = await escrow.getAddress();
  const rows: GasRow[] = [];
  const a = await newAccount(hre, d, STAKE * 3n);
  await (await d.token.connect(a).approve(escrowAddress, STAKE * 3n)).wait();
  rows.push({ operation: "deposit (new staker)", gas: await gasOf(escrow.connect(a).deposit(STAKE)) });
  const b = await newAccount(hre, d, STAKE * 3n);
  await (await d.token.connect(b).approve(escrowAddress, STAKE * 3n)).wait();
  rows.push({
    operation: "depositAndLock (new staker: first deposit+lock)",
    gas: await gasOf(escrow.connect(b).depositAndLock(STAKE, LOCK_PERIODS)),
    limit: 150_000n,
    peer: "247–297k",
  });
  // Permits need a real key: an impersonated account cannot sign typed data.
  const c = await newWallet(hre, d, STAKE);
  const deadline = BigInt(Math.floor(Date.now() / 1000)) + 10n ** 9n;
  const signature = await signPermit(d.token, c, { spender: escrowAddress, value: STAKE, deadline, nonce: 0n });
  rows.push({
    operation: "depositAndLockWithPermit (new staker)",
    gas: await gasOf(
      escrow.connect(c).depositAndLockWithPermit(STAKE, LOCK_PERIODS, deadline, signature.v, signature.r, signature.s),
    ),
  });
  rows.push({
    operation: "lock (existing staker, new lock)",
    gas: await gasOf(escrow.connect(a).lock(STAKE, LOCK_PERIODS)),
  });
  await (await escrow.connect(b).deposit(STAKE)).wait();
  rows.push({ operation: "lock (add to a lock)", gas: await gasOf(escrow.connect(b).lock(STAKE, 0n)) });
  rows.push({ operation: "prolong", gas: await gasOf(escrow.connect(b).prolong(10n)) });
  const operator = await newWallet(hre, d);
  rows.push({
    operation: "bondOperator (first: a proposal)",
    gas: await gasOf(escrow.connect(b).bondOperator(operator.address)),
  });
  rows.push({
    operation: "confirmOperator (by the operator key)",
    gas: await gasOf(escrow.connect(operator).confirmOperator(b.address)),
  });
  // b commits to the next two periods; three periods later both are past.
  const node = { staker: b, operator };
  await (await escrow.connect(operator).commitToNextPeriodFor(b.address)).wait();
  await nextPeriod(hre, d);
  await (await escrow.connect(operator).commitToNextPeriodFor(b.address)).wait();
  const other = await newNode(hre, d);
  for (let i = 0; i < 3; i++) await nextPeriod(hre, d);
  await commitAll(d, [other]);
  rows.push({
    operation: "commit + mint of two past periods (node back after missing a period)",
    gas: await commit(d, node),
    note: "later commit of the period, node serving no policy",
  });
  await nextPeriod(hre, d);
  await nextPeriod(hre, d);
  rows.push({ operation: "mint (two past periods)", gas: await gasOf(escrow.connect(b).mint()) });
  rows.push({ operation: "withdraw (part of the unlocked stake)", gas: await gasOf(escrow.connect(b).withdraw(1n)) });
  return rows;
}

/**
 * Commitments in each condition, on one chain aligned to a 256-period word of the PolicyManager's commitment bits.
 * Nodes: `opener` commits first in every period (it pays the period's set-up); `idle` serves no policy, `served`
 * one policy, `busy` 1,000 (all ending far ahead, so no scheduled decrease is met).
 */
async function commitments(hre: HardhatRuntimeEnvironment, d: Deployed): Promise<GasRow[]> {
  await alignToBlock(hre, DEFAULT_PERIOD_DURATION, 256n);
  const rows: GasRow[] = [];
  const [opener, idle, served, busy, fresh, idleBare, servedBare, busyBare, operatorPath] = await (async () => {
    const list: Node[] = [];
    for (let i = 0; i < 9; i++) list.push(await newNode(hre, d, STAKE, LOCK_PERIODS + 300n));
    return list;
  })();
  const payer = await newPayer(hre, d);
  const end = (await d.escrow.getCurrentPeriod()) + 300n;
  await createPolicies(
    d,
    payer,
    sortNodes([served, servedBare].map((n) => n.staker.address)),
    end,
    DEFAULT_MIN_FEE_RATE,
  );
  await createPolicies(
    d,
    payer,
    sortNodes([busy, busyBare].map((n) => n.staker.address)),
    end,
    DEFAULT_MIN_FEE_RATE,
    1000,
  );
  const steady = [opener, idle, served, busy, operatorPath];

  // Period p (p % 256 == 0): a node's first commitment ever, opening period p + 1.
  rows.push({
    operation: "commit, a node's first ever, opening the next period (no mint)",
    gas: await commit(d, fresh),
    note: "worst first commit: new period record and issuance, the node's first PolicyManager slot",
  });
  await commitAll(d, steady);
  await nextPeriod(hre, d);
  // p + 1: every steady node commits; the bare nodes make their first commitment (nothing past to mint).
  await commitAll(d, [...steady, idleBare, servedBare, busyBare]);
  await nextPeriod(hre, d);
  // p + 2: steady nodes mint p + 1 (and keep p + 2 open); bare nodes have only p + 2, still open: nothing to mint.
  const first = await commit(d, opener);
  for (const [label, n, policies] of [
    ["bare: nothing past to mint, node serving no policy", idleBare, "best"],
    ["bare: nothing past to mint, node serving 1 policy", servedBare, "typical node"],
    ["bare: nothing past to mint, node serving 1,000 policies", busyBare, "O(1) in policies"],
  ] as const) {
    rows.push({
      operation: `commit, ${label}`,
      gas: await commit(d, n),
      limit: BARE,
      note: `${policies}; later commit of the period, inside a 16-period block`,
    });
  }
  rows.push({
    operation: "commit+mint, steady, first commit of the period, node serving no policy",
    gas: first,
    limit: FIRST_OF_PERIOD,
    peer: NUCYPHER_COMMIT,
    note: "once per period for the whole network: new period record and issuance",
  });
  const later = [
    ["no policy", idle],
    ["1 policy", served],
    ["1,000 policies", busy],
  ] as const;
  for (const [label, n] of later) {
    rows.push({
      operation: `commit+mint, steady, later commit of the period, node serving ${label}`,
      gas: await commit(d, n),
      limit: LATER,
      peer: NUCYPHER_COMMIT,
      note: "15 commitments in 16 (inside a 16-period block)",
    });
  }
  rows.push({
    operation: "commit+mint via commitToNextPeriod() (operator only, staker looked up), later, no policy",
    gas: await gasOf(d.escrow.connect(operatorPath.operator).commitToNextPeriod()),
    limit: LATER,
    peer: NUCYPHER_COMMIT,
    note: "the call without the staker argument: +1 cold map read, −32 bytes of calldata",
  });
  // A served node opening a period.
  await nextPeriod(hre, d);
  rows.push({
    operation: "commit+mint, steady, first commit of the period, node serving 1 policy",
    gas: await commit(d, served),
    limit: FIRST_OF_PERIOD,
    peer: NUCYPHER_COMMIT,
    note: "worst steady commit but the block moves below",
  });
  await commitAll(d, [opener, idle, busy]);
  // Into a new 16-period block: the bits of the block left go to their 256-period word; the first block left in
  // a word creates the word (once per 256 periods), the 15 others add to it.
  const boundaries: bigint[] = [];
  while (boundaries.length < 2) {
    await nextPeriod(hre, d);
    await commitAll(d, [opener, idle]);
    const next = (await d.escrow.getCurrentPeriod()) + 1n;
    const gas = await commit(d, served);
    await commitAll(d, [busy]);
    if (next % 16n === 0n) boundaries.push(gas);
  }
  rows.push({
    operation: "commit+mint, later commit, node serving 1 policy, into a new 16-period block",
    gas: boundaries[1],
    limit: LATER,
    peer: NUCYPHER_COMMIT,
    note: "15 block changes in 16: the block's commitment bits go to their 256-period word (5k)",
  });
  rows.push({
    operation: "commit+mint, later commit, node serving 1 policy, first block change of a 256-period word",
    gas: boundaries[0],
    limit: LATER,
    peer: NUCYPHER_COMMIT,
    note: "worst: once per 256 periods the bits create their word (22.1k)",
  });
  return rows;
}

/** Commit+mint in steady state with `count` nodes serving no policy: the first and the last of a period. */
async function flat(hre: HardhatRuntimeEnvironment, count: number): Promise<{ first: bigint; last: bigint }> {
  const d = await deployKMS(hre);
  await alignToBlock(hre, DEFAULT_PERIOD_DURATION);
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await newNode(hre, d));
  for (let round = 0; round < 2; round++) {
    await commitAll(d, nodes);
    await nextPeriod(hre, d);
  }
  const first = await commit(d, nodes[0]);
  await commitAll(d, nodes.slice(1, -1));
  const last = count > 1 ? await commit(d, nodes[count - 1]) : 0n;
  return { first, last };
}

export const stakingGas: GasSection = {
  title: "StakingEscrow",
  async measure(hre) {
    const rows = await staking(hre, await deployKMS(hre));
    rows.push(...(await commitments(hre, await deployKMS(hre))));
    for (const count of [1, 100, 1000]) {
      const snapshot = await hre.network.provider.send("evm_snapshot", []);
      const { first, last } = await flat(hre, count);
      await hre.network.provider.send("evm_revert", [snapshot]);
      const stakers = `${count.toLocaleString("en-US")} staker${count > 1 ? "s" : ""}`;
      rows.push({
        operation: `commit+mint, steady, ${stakers}: first commit of the period`,
        gas: first,
        limit: FIRST_OF_PERIOD,
        peer: NUCYPHER_COMMIT,
        note: "nodes serving no policy; flat in the number of stakers",
      });
      if (count > 1) {
        rows.push({
          operation: `commit+mint, steady, ${stakers}: last commit of the period`,
          gas: last,
          limit: LATER,
          peer: NUCYPHER_COMMIT,
          note: "nodes serving no policy; flat in the number of stakers",
        });
      }
    }
    return rows;
  },
};
