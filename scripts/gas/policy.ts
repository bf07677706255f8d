// Gas of PolicyManager's operations on the deployed configuration (scripts/gas/deployed.ts): createPolicy with 1,
// 3 and 10 nodes (token transfer included), revocation with the nodes committed ahead or not, refund and fee
// withdrawal. Commitments, which run the PolicyManager's hook, are in scripts/gas/staking.ts.
import type { GasRow, GasSection } from "./types";
import { gasOf } from "./types";
import { commitAll, deployKMS, newNode, newPayer, newWallet, nextPeriod, type Node } from "./deployed";
import { signPermit } from "../../src/token/permit";
import { DEFAULT_PERIOD_DURATION } from "../../ignition/modules/KMS";
import { randomPolicyId, sortNodes, type PolicyRecord } from "../../src/policy";

const RATE = 10n ** 15n;
const PERIODS = 30n;

export const policyGas: GasSection = {
  title: "PolicyManager",
  async measure(hre) {
    const d = await deployKMS(hre);
    const { policyManager: pm } = d;
    const pmAddress = await pm.getAddress();
    const rows: GasRow[] = [];
    const nodes: Node[] = [];
    for (let i = 0; i < 20; i++) nodes.push(await newNode(hre, d));
    const alice = await newPayer(hre, d);

    // Steady state: every node committed to the current period (during the previous one), none yet to the next.
    await commitAll(d, nodes);
    await nextPeriod(hre, d);

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
    rows.push({ operation: "createPolicy, 1 node", gas: one.gas, limit: 110_000n, peer: "145–162k", note });
    rows.push({ operation: "createPolicy, 3 nodes", gas: three.gas, limit: 180_000n, peer: "283k", note });
    rows.push({ operation: "createPolicy, 10 nodes", gas: ten.gas, note });
    const again = await create(nodes.slice(1, 4));
    rows.push({
      operation: "createPolicy, 3 nodes already serving a policy with the same end",
      gas: again.gas,
      note: "the scheduled end-of-policy decrease slots are already non-zero (5k instead of 22k per node)",
    });

    // Permit variant: needs a real key.
    const wallet = await newWallet(hre, d, 10n ** 21n);
    const start = await pm.getCurrentPeriod();
    const deposit = RATE * PERIODS;
    const deadline = start * DEFAULT_PERIOD_DURATION + 10n ** 6n;
    const sig = await signPermit(d.token, wallet, { spender: pmAddress, value: deposit, deadline, nonce: 0n });
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

    // Revocations: a node that already committed to the next period gives that period's credit back (its slot is
    // written); one that did not only has its scheduled decrease moved (a new decrease slot).
    const ahead = await create(nodes.slice(15, 16));
    const behind = await create(nodes.slice(16, 17));
    await nextPeriod(hre, d);
    await commitAll(d, nodes.slice(0, 4));
    await commitAll(d, nodes.slice(15, 16));
    rows.push({
      operation: "revokePolicy, 1 node, node committed ahead (to the next period)",
      gas: await gasOf(pm.connect(alice).revokePolicy(ahead.id, ahead.record)),
      note: "its credit for the next period is taken back",
    });
    rows.push({
      operation: "revokePolicy, 1 node, node not committed ahead",
      gas: await gasOf(pm.connect(alice).revokePolicy(behind.id, behind.record)),
      note: "the decrease moves to the next period: a new slot (22.1k)",
    });
    await nextPeriod(hre, d);
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

    return rows;
  },
};
