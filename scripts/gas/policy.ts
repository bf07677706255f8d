// Gas of PolicyManager's operations on the real StakingEscrow: createPolicy with 1, 3 and 10 nodes (token
// transfer included), a commitment by a node serving 1 vs 1,000 policies (the hook must cost the same),
// revocation, refund and fee withdrawal.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { GasRow, GasSection } from "./types";
import { deployTokenAndEscrow } from "./types";
import { alignToBlock, gasOf } from "./types";
import { signPermit } from "../../src/token/permit";
import { DEFAULT_MIN_STAKE, DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";
import type { KMSToken, PolicyManager, StakingEscrow } from "../../typechain-types";
import { randomPolicyId, sortNodes, type PolicyRecord } from "../../src/policy";

const STAKE = DEFAULT_MIN_STAKE * 2n;
const RATE = 10n ** 15n;
const PERIODS = 30n;

interface Node {
  staker: HardhatEthersSigner;
  operator: HardhatEthersSigner;
}

async function newAccount(hre: HardhatRuntimeEnvironment, token: KMSToken, kms: bigint): Promise<HardhatEthersSigner> {
  const address = hre.ethers.Wallet.createRandom().address;
  await hre.network.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]);
  const signer = await hre.ethers.getImpersonatedSigner(address);
  if (kms > 0n) await (await token.transfer(address, kms)).wait();
  return signer;
}

async function deploy(hre: HardhatRuntimeEnvironment) {
  const { ethers } = hre;
  const [deployer] = await ethers.getSigners();
  const { token, escrow } = await deployTokenAndEscrow(hre, deployer);
  const pm = (await ethers.deployContract("PolicyManager", [
    await escrow.getAddress(),
    deployer.address,
    1n,
    10n ** 24n,
  ])) as unknown as PolicyManager;
  await (await escrow.setPolicyManager(await pm.getAddress())).wait();
  return { token, escrow, pm };
}

async function newNode(hre: HardhatRuntimeEnvironment, token: KMSToken, escrow: StakingEscrow): Promise<Node> {
  const staker = await newAccount(hre, token, STAKE);
  const operator = await newAccount(hre, token, 0n);
  await (await token.connect(staker).approve(await escrow.getAddress(), STAKE)).wait();
  await (await escrow.connect(staker).depositAndLock(STAKE, 365n)).wait();
  await (await escrow.connect(staker).bondOperator(operator.address)).wait();
  await (await escrow.connect(operator).confirmOperator(staker.address)).wait();
  return { staker, operator };
}

async function nextPeriod(hre: HardhatRuntimeEnvironment, escrow: StakingEscrow): Promise<void> {
  const next = (await escrow.getCurrentPeriod()) + 1n;
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(next * DEFAULT_PERIOD_DURATION + 60n)]);
  await hre.network.provider.send("evm_mine", []);
}

async function commitAll(escrow: StakingEscrow, nodes: Node[]): Promise<void> {
  for (const node of nodes) await (await escrow.connect(node.operator).commitToNextPeriod()).wait();
}

export const policyGas: GasSection = {
  title: "PolicyManager",
  async measure(hre) {
    const { token, escrow, pm } = await deploy(hre);
    // At a 256-period boundary: the commitment rows below see a first and a later block of one bit word.
    await alignToBlock(hre, DEFAULT_PERIOD_DURATION, 256n);
    const pmAddress = await pm.getAddress();
    const rows: GasRow[] = [];
    const nodes: Node[] = [];
    for (let i = 0; i < 20; i++) nodes.push(await newNode(hre, token, escrow));
    const alice = await newAccount(hre, token, 10n ** 24n);
    await (await token.connect(alice).approve(pmAddress, hre.ethers.MaxUint256)).wait();

    // Steady state: every node committed to the current period (during the previous one), none yet to the next.
    await commitAll(escrow, nodes);
    await nextPeriod(hre, escrow);

    const create = async (group: Node[]): Promise<{ gas: bigint; id: string; record: PolicyRecord }> => {
      const id = randomPolicyId();
      const list = sortNodes(group.map((n) => n.staker.address));
      const start = await pm.getCurrentPeriod();
      const gas = await gasOf(pm.connect(alice).createPolicy(id, alice.address, list, start + PERIODS, RATE));
      const record = {
        owner: alice.address,
        startPeriod: start,
        endPeriod: start + PERIODS,
        refundedThrough: start,
        feeRate: RATE,
        nodes: list,
      };
      return { gas, id, record };
    };
    // A first policy makes the manager's token balance non-zero, as it is in operation.
    await create(nodes.slice(19, 20));
    const one = await create(nodes.slice(0, 1));
    const three = await create(nodes.slice(1, 4));
    const ten = await create(nodes.slice(4, 14));
    const note = `${PERIODS} periods; nodes committed to the current period; transferFrom included`;
    rows.push({ operation: "createPolicy, 1 node", gas: one.gas, target: "≤ 110k (NuCypher 145–162k)", note });
    rows.push({ operation: "createPolicy, 3 nodes", gas: three.gas, target: "≤ 180k (NuCypher 283k)", note });
    rows.push({ operation: "createPolicy, 10 nodes", gas: ten.gas, note });
    const again = await create(nodes.slice(1, 4));
    rows.push({
      operation: "createPolicy, 3 nodes already serving a policy with the same end",
      gas: again.gas,
      note: "the scheduled end-of-policy decrease slots are already non-zero (5k instead of 22k per node)",
    });

    // Permit variant: needs a real key.
    const wallet = hre.ethers.Wallet.createRandom().connect(hre.ethers.provider);
    await hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
    await (await token.transfer(wallet.address, 10n ** 21n)).wait();
    const start = await pm.getCurrentPeriod();
    const deposit = RATE * PERIODS;
    const deadline = start * DEFAULT_PERIOD_DURATION + 10n ** 6n;
    const sig = await signPermit(token, wallet, { spender: pmAddress, value: deposit, deadline, nonce: 0n });
    rows.push({
      operation: "createPolicyWithPermit, 1 node",
      gas: await gasOf(
        pm
          .connect(wallet)
          .createPolicyWithPermit(randomPolicyId(), wallet.address, [nodes[14].staker.address], start + PERIODS, RATE, {
            value: deposit,
            deadline,
            v: sig.v,
            r: sig.r,
            s: sig.s,
          }),
      ),
      note: "first policy of this payer",
    });

    // Commitment of a node serving 1 policy vs one serving 1,000 (all ending at the same far period, so neither
    // commitment meets a scheduled decrease). Another node commits first: it pays the period's issuance set-up.
    const single = nodes[15];
    const busy = nodes[16];
    const first = nodes[17];
    const far = (await pm.getCurrentPeriod()) + 300n;
    await (
      await pm.connect(alice).createPolicy(randomPolicyId(), alice.address, [single.staker.address], far, RATE)
    ).wait();
    for (let i = 0; i < 1000; i++) {
      await (
        await pm.connect(alice).createPolicy(randomPolicyId(), alice.address, [busy.staker.address], far, RATE)
      ).wait();
    }
    await commitAll(escrow, [first]);
    const commitSingle = await gasOf(escrow.connect(single.operator).commitToNextPeriod());
    const commitBusy = await gasOf(escrow.connect(busy.operator).commitToNextPeriod());
    const commitNote =
      "bare StakingEscrow.commitToNextPeriod (nothing past to mint) incl. the onCommit hook, inside a 16-period block";
    rows.push({
      operation: "commit, node serving 1 policy",
      gas: commitSingle,
      target: "≤ 50k; = 1,000 policies",
      note: commitNote,
    });
    rows.push({
      operation: "commit, node serving 1,000 policies",
      gas: commitBusy,
      target: "= 1 policy",
      note: commitNote,
    });

    // Revoke and refund after two periods in which the nodes committed once and missed once.
    await nextPeriod(hre, escrow);
    await commitAll(escrow, nodes.slice(0, 4));
    await nextPeriod(hre, escrow);
    rows.push({
      operation: "revokePolicy, 1 node",
      gas: await gasOf(pm.connect(alice).revokePolicy(one.id, one.record)),
      note: "node already committed to the next period",
    });
    rows.push({
      operation: "refund, 3 nodes (missed periods)",
      gas: await gasOf(pm.connect(alice).refund(three.id, three.record)),
    });
    rows.push({
      operation: "revokePolicy, 3 nodes (after a refund)",
      gas: await gasOf(
        pm
          .connect(alice)
          .revokePolicy(three.id, { ...three.record, refundedThrough: (await pm.getCurrentPeriod()) + 1n }),
      ),
    });
    rows.push({ operation: "withdrawFees", gas: await gasOf(pm.connect(nodes[5].staker).withdrawFees()) });

    // Steady state of a node serving a policy: commit+mint every period after another node opened the period,
    // inside a 16-period block and into a new one (the block's bits move to their word: a fresh word on the
    // first block of each 256 periods, an existing one on the 15 others).
    const boundaries: bigint[] = [];
    let steady = 0n;
    while (boundaries.length < 2) {
      await nextPeriod(hre, escrow);
      await (await escrow.connect(first.operator).commitToNextPeriod()).wait();
      const next = (await escrow.getCurrentPeriod()) + 1n;
      const gas = await gasOf(escrow.connect(single.operator).commitToNextPeriod());
      if (next % 16n === 0n) boundaries.push(gas);
      else steady = gas;
    }
    rows.push({
      operation: "commit+mint, node serving 1 policy, later commit of the period",
      gas: steady,
      target: "≤ 75k (NuCypher 166–418k)",
      note: "15 commitments in 16",
    });
    rows.push({
      operation: "commit+mint, node serving 1 policy, into a new 16-period block",
      gas: boundaries[1],
      target: "≤ 75k",
      note: "15 block changes in 16: the block's commitment bits go to their word (5k)",
    });
    rows.push({
      operation: "commit+mint, node serving 1 policy, into the first block of a 256-period word",
      gas: boundaries[0],
      note: "once per 256 periods: a fresh bit word (22.1k), as before the blocks",
    });
    return rows;
  },
};
