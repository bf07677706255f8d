// Gas of the PolicyManager's access-conditions commitment on the deployed configuration (scripts/gas/deployed.ts):
// createPolicy next to createPolicyWithConditions (the same policy on fresh nodes of the same state, committed to
// version 1 of a set), and
// setConditions / setConditionsWithSig replacing a set. docs/conditions.md describes the functions.
import type { GasRow, GasSection } from "./types";
import { gasOf } from "./types";
import { commitAll, deployKMS, newNode, newPayer, newWallet, nextPeriod, type Node } from "./deployed";
import { randomPolicyId, sortNodes } from "../../src/policy";
import { conditionsHash, signConditions } from "../../src/conditions";

const RATE = 10n ** 15n;
const PERIODS = 30n;
const set = (seconds: number) => ({
  version: "1.0.0",
  condition: {
    conditionType: "time" as const,
    method: "blocktime" as const,
    chain: 31337,
    returnValueTest: { comparator: ">=" as const, value: seconds },
  },
});

export const conditionsGas: GasSection = {
  title: "Access conditions",
  async measure(hre) {
    const d = await deployKMS(hre);
    const { policyManager: pm } = d;
    const rows: GasRow[] = [];
    const nodes: Node[] = [];
    for (let i = 0; i < 10; i++) nodes.push(await newNode(hre, d));
    const alice = await newPayer(hre, d);
    await commitAll(d, nodes);
    await nextPeriod(hre, d);
    const { chainId } = await hre.ethers.provider.getNetwork();
    const domain = { chainId, policyManager: await pm.getAddress() };
    // A first policy makes the manager's token balance non-zero, as it is in operation.
    const start = await pm.getCurrentPeriod();
    await gasOf(
      pm.connect(alice).createPolicy(randomPolicyId(), alice.address, [nodes[9].staker.address], start + PERIODS, RATE),
    );
    const note = `${PERIODS} periods; nodes committed to the current period; transferFrom included`;
    for (const group of [nodes.slice(0, 1), nodes.slice(1, 4)]) {
      const list = sortNodes(group.map((n) => n.staker.address));
      const plain = await gasOf(
        pm.connect(alice).createPolicy(randomPolicyId(), alice.address, list, start + PERIODS, RATE),
      );
      rows.push({ operation: `createPolicy, ${list.length} node(s), no conditions`, gas: plain, note });
    }
    // The second policy is owned by a key that signs (the payer here is an unlocked account without one).
    const signer = await newWallet(hre, d);
    const records = [];
    for (const [group, owner] of [
      [nodes.slice(4, 5), alice.address],
      [nodes.slice(5, 6), signer.address],
      [nodes.slice(6, 9), alice.address],
    ] as const) {
      const list = sortNodes(group.map((n) => n.staker.address));
      const id = randomPolicyId();
      const gas = await gasOf(
        pm.connect(alice).createPolicyWithConditions(id, owner, list, start + PERIODS, RATE, conditionsHash(set(1))),
      );
      // The second 1-node policy (owned by a signing key, for setConditionsWithSig below) is not a row of its own.
      if (owner === alice.address) {
        rows.push({
          operation: `createPolicyWithConditions, ${list.length} node(s)`,
          gas,
          note: `${note}; two fresh slots (version, hash) and ConditionsSet`,
        });
      }
      records.push({
        id,
        record: {
          owner,
          startPeriod: start,
          endPeriod: start + PERIODS,
          refundedThrough: start,
          feeRate: RATE,
          nodes: list,
        },
      });
    }
    const [{ id, record }, signed] = records;
    rows.push({
      operation: "setConditions, version 1 → 2 (1 node)",
      gas: await gasOf(pm.connect(alice).setConditions(id, record, 2, conditionsHash(set(2)))),
      note: "owner; the policy record in calldata; both slots rewritten",
    });
    const signature = await signConditions(signer, domain, { policyId: signed.id, version: 2, conditions: set(3) });
    rows.push({
      operation: "setConditionsWithSig, version 1 → 2 (1 node)",
      gas: await gasOf(
        pm
          .connect(alice)
          .setConditionsWithSig(signed.id, signed.record, 2, conditionsHash(set(3)), signature.ownerSignature),
      ),
      note: "relayed with the owner's PolicyConditions signature",
    });
    return rows;
  },
};
