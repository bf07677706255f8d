// Gas of a live policy's lifecycle on the deployed configuration (Ignition module: StakingEscrow wired to its
// PolicyManager and Adjudicator): extendPolicy with 1, 3 and 5 nodes, with an approval and with a permit, and
// moveSlot in the cases that decide its cost (nothing to settle, a departed node's missed periods refunded,
// and the worst case: 32 nodes with 512 unsettled periods). Nodes are real stakers that commit as real nodes do.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { Wallet, type HDNodeWallet, type Signer } from "ethers";
import type { GasRow, GasSection } from "./types";
import { alignToBlock, gasOf } from "./types";
import KMSModule, {
  DEFAULT_MIN_FEE_RATE,
  DEFAULT_MIN_STAKE,
  DEFAULT_PERIOD_DURATION,
} from "../../ignition/modules/KMS";
import type { KMSToken, PolicyManager, StakingEscrow } from "../../typechain-types";
import { signPermit } from "../../src/token/permit";
import { extensionDeposit, randomPolicyId, sortNodes, type PolicyRecord } from "../../src/policy";

const RATE = DEFAULT_MIN_FEE_RATE;
const PERIODS = 30n;
/** Long enough for the worst-case row, which waits 512 periods before moving a slot. */
const LOCK_PERIODS = 1_000n;

/** A staker with a confirmed operator, both funded keys on the in-process chain. */
interface Staker {
  staker: HDNodeWallet;
  operator: HDNodeWallet;
}

interface Bench {
  hre: HardhatRuntimeEnvironment;
  token: KMSToken;
  escrow: StakingEscrow;
  pm: PolicyManager;
  deployer: Signer;
}

async function fundedWallet(b: Bench, kms: bigint): Promise<HDNodeWallet> {
  const wallet = Wallet.createRandom().connect(b.hre.ethers.provider);
  await b.hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
  if (kms > 0n) await (await b.token.connect(b.deployer).transfer(wallet.address, kms)).wait();
  return wallet;
}

async function newStaker(b: Bench): Promise<Staker> {
  const staker = await fundedWallet(b, DEFAULT_MIN_STAKE);
  const operator = await fundedWallet(b, 0n);
  await (await b.token.connect(staker).approve(await b.escrow.getAddress(), DEFAULT_MIN_STAKE)).wait();
  await (await b.escrow.connect(staker).depositAndLock(DEFAULT_MIN_STAKE, LOCK_PERIODS)).wait();
  await (await b.escrow.connect(staker).bondOperator(operator.address)).wait();
  await (await b.escrow.connect(operator).confirmOperator(staker.address)).wait();
  return { staker, operator };
}

/** Moves the chain `periods` periods on, to a minute into the period. */
async function skip(b: Bench, periods = 1n): Promise<void> {
  const target = (await b.escrow.getCurrentPeriod()) + periods;
  await b.hre.network.provider.send("evm_setNextBlockTimestamp", [Number(target * DEFAULT_PERIOD_DURATION + 60n)]);
  await b.hre.network.provider.send("evm_mine", []);
}

/** Each operator commits its staker to the next period, as a running node does once per period. */
async function commit(b: Bench, nodes: Staker[]): Promise<void> {
  for (const node of nodes) await (await b.escrow.connect(node.operator).commitToNextPeriod()).wait();
}

/** Creates a policy of `periods` periods on `nodes`, paid by `payer`, owned by `owner`; returns its record. */
async function create(
  b: Bench,
  payer: Signer,
  owner: string,
  nodes: Staker[],
  periods = PERIODS,
): Promise<[string, PolicyRecord]> {
  const id = randomPolicyId();
  const list = sortNodes(nodes.map((n) => n.staker.address));
  const start = await b.pm.getCurrentPeriod();
  await (await b.pm.connect(payer).createPolicy(id, owner, list, start + periods, RATE)).wait();
  return [
    id,
    { owner, startPeriod: start, endPeriod: start + periods, refundedThrough: start, feeRate: RATE, nodes: list },
  ];
}

export const lifecycleGas: GasSection = {
  title: "Policy lifecycle",
  async measure(hre) {
    const [deployer] = await hre.ethers.getSigners();
    const deployed = await hre.ignition.deploy(KMSModule);
    const b: Bench = {
      hre,
      deployer,
      token: deployed.token as unknown as KMSToken,
      escrow: deployed.escrow as unknown as StakingEscrow,
      pm: deployed.policyManager as unknown as PolicyManager,
    };
    const pmAddress = await b.pm.getAddress();
    // At a 16-period block boundary, so the commitment-bit layout (and the settlement's reads) are the same on
    // any day the bench runs.
    await alignToBlock(hre, DEFAULT_PERIOD_DURATION, 16n);
    const nodes: Staker[] = [];
    for (let i = 0; i < 12; i++) nodes.push(await newStaker(b));
    const alice = await fundedWallet(b, 10n ** 24n);
    await (await b.token.connect(alice).approve(pmAddress, hre.ethers.MaxUint256)).wait();
    // Steady state: every node committed to the current period and to the next one (a node commits once per
    // period, early in it).
    await commit(b, nodes);
    await skip(b);
    await commit(b, nodes);
    // A first policy makes the manager's token balance non-zero, as it is in operation.
    await create(b, alice, alice.address, nodes.slice(11));
    const rows: GasRow[] = [];

    // extendPolicy by PERIODS, with Alice's standing approval (max allowance: no allowance write).
    const sizes: [number, Staker[]][] = [
      [1, nodes.slice(0, 1)],
      [3, nodes.slice(1, 4)],
      [5, nodes.slice(4, 9)],
    ];
    const extendNote = `+${PERIODS} periods; the new end's decrease slot is fresh for each node; transferFrom included`;
    for (const [n, group] of sizes) {
      const [id, record] = await create(b, alice, alice.address, group);
      rows.push({
        operation: `extendPolicy, ${n} node${n > 1 ? "s" : ""}`,
        gas: await gasOf(b.pm.connect(alice).extendPolicy(id, record, record.endPeriod + PERIODS)),
        target: n === 3 ? "no NuCypher equivalent (a new policy there: 283k)" : undefined,
        note: extendNote,
      });
    }
    {
      // The same 3 nodes again: their decrease slots at the new end are already non-zero (another policy).
      const [id, record] = await create(b, alice, alice.address, nodes.slice(1, 4));
      rows.push({
        operation: "extendPolicy, 3 nodes, to an end another policy of theirs shares",
        gas: await gasOf(b.pm.connect(alice).extendPolicy(id, record, record.endPeriod + PERIODS)),
        note: "decrease slots already non-zero (5k instead of 22k per node)",
      });
    }

    // extendPolicyWithPermit: the owner is a key that signs; Alice paid the creation. One permit first, so the
    // owner's permit nonce slot is warm in the sense of non-zero (as for any owner after the first permit).
    const owner = await fundedWallet(b, 10n ** 22n);
    const warm = await signPermit(b.token, owner, { spender: pmAddress, value: 0n, deadline: 2n ** 40n });
    await (await b.token.permit(owner.address, pmAddress, 0n, 2n ** 40n, warm.v, warm.r, warm.s)).wait();
    const permitSizes: [number, Staker[]][] = [
      [1, nodes.slice(9, 10)],
      [3, nodes.slice(9, 12)],
      [5, nodes.slice(7, 12)],
    ];
    for (const [n, group] of permitSizes) {
      const [id, record] = await create(b, alice, owner.address, group);
      const newEnd = record.endPeriod + PERIODS + BigInt(n); // ends of their own: fresh decrease slots
      const value = extensionDeposit(record, newEnd);
      const sig = await signPermit(b.token, owner, { spender: pmAddress, value, deadline: 2n ** 40n });
      const permit = { value, deadline: 2n ** 40n, v: sig.v, r: sig.r, s: sig.s };
      rows.push({
        operation: `extendPolicyWithPermit, ${n} node${n > 1 ? "s" : ""}`,
        gas: await gasOf(b.pm.connect(owner).extendPolicyWithPermit(id, record, newEnd, permit)),
        note: `${extendNote}; owner's second permit`,
      });
    }

    // moveSlot. The new node is a fresh staker committed like the others.
    const spares: Staker[] = [];
    for (let i = 0; i < 2; i++) spares.push(await newStaker(b));
    await commit(b, spares);
    {
      // Everyone committed through the next period: the settlement pays nothing, the old node's credit for the
      // next period is taken back and the new node is credited for it at once.
      const [id, record] = await create(b, alice, alice.address, nodes.slice(0, 3));
      for (let i = 0; i < 5; i++) {
        await skip(b);
        await commit(b, [...nodes.slice(0, 3), spares[0]]);
      }
      rows.push({
        operation: "moveSlot, 3 nodes, all committed (nothing to settle)",
        gas: await gasOf(b.pm.connect(alice).moveSlot(id, record, 0n, spares[0].staker.address)),
        note: "5 periods after creation; both nodes committed ahead to the cut-over period",
      });
    }
    {
      // The heal: one node stopped committing after creation; its 4 missed periods are refunded at the move.
      const [id, record] = await create(b, alice, alice.address, nodes.slice(3, 6));
      const stay = [nodes[3], nodes[5], spares[1]];
      for (let i = 0; i < 5; i++) {
        await skip(b);
        await commit(b, stay);
      }
      const healed = record.nodes.indexOf(nodes[4].staker.address);
      rows.push({
        operation: "moveSlot, 3 nodes, heal of a node gone for 4 periods",
        gas: await gasOf(b.pm.connect(alice).moveSlot(id, record, BigInt(healed), spares[1].staker.address)),
        target: "the typical heal",
        note: "5 periods after creation; settles the old node's 4 missed periods: refund transfer included",
      });
    }
    {
      // Worst case: the largest policy (32 nodes) with 512 periods unsettled: the settlement reads every node's
      // commitment bits over three 256-period words, and the old node's cursor is far behind.
      const many: Staker[] = [];
      for (let i = 0; i < 33; i++) many.push(await newStaker(b));
      const [id, record] = await create(b, alice, alice.address, many.slice(0, 32), 600n);
      await skip(b, 512n);
      rows.push({
        operation: "moveSlot, 32 nodes, 512 periods unsettled (worst case)",
        gas: await gasOf(b.pm.connect(alice).moveSlot(id, record, 0n, many[32].staker.address)),
        note: "no node committed since creation: 32 × 513 missed periods refunded, 3 bit words read per node",
      });
    }
    return rows;
  },
};
