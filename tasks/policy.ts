// Policy tasks: create (nodes listed or sampled by stake), revoke (as owner, or relaying a signature), sign a
// revocation, refund, withdraw fees, inspect, set a node's minimum fee rate. Thin: parse, call src/policy, print.
import { randomBytes } from "node:crypto";
import { types } from "hardhat/config";
import { getBytes, hexlify } from "ethers";
import { kms } from "./scope";
import { FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { loadActiveNodes, sampleNodes } from "../src/staking";
import {
  createPolicy,
  describePolicy,
  formatPolicyState,
  parseFeeRate,
  parseNodeList,
  parsePolicyId,
  parsePolicyPeriods,
  refundPolicy,
  relayRevocation,
  revokePolicy,
  setMinFeeRate,
  signPolicyRevocation,
  withdrawFees,
  InvalidNodeListError,
  type CreatedPolicy,
  type PolicyState,
} from "../src/policy";

kms
  .task("create-policy", "Creates a policy and pays its deposit: fee rate × periods × nodes")
  .addOptionalParam("nodes", "Comma-separated staker addresses", undefined, types.string)
  .addOptionalParam(
    "sample",
    "Instead of --nodes: pick this many active nodes, weighted by stake",
    undefined,
    types.int,
  )
  .addOptionalParam("seed", "Sampling seed as 0x-hex (default: random, printed)", undefined, types.string)
  .addParam("periods", "Number of periods, starting with the current one", undefined, types.string)
  .addParam("feeRate", "Fee per node per period, in KMS (e.g. 0.001)", undefined, types.string)
  .addOptionalParam("owner", "Policy owner (default: the sender)", undefined, types.string)
  .addOptionalParam("id", "Policy id, 16 bytes as 0x-hex (default: random)", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(
    async (
      args: {
        nodes?: string;
        sample?: number;
        seed?: string;
        periods: string;
        feeRate: string;
        owner?: string;
        id?: string;
        from?: string;
      },
      hre,
    ): Promise<CreatedPolicy> => {
      const { token, escrow, policyManager, nodeDirectory } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      const periods = parsePolicyPeriods(args.periods);
      const feeRate = parseFeeRate(args.feeRate);
      if ((args.nodes === undefined) === (args.sample === undefined)) {
        throw new InvalidNodeListError("give exactly one of --nodes and --sample");
      }
      let nodes: string[];
      if (args.nodes !== undefined) {
        nodes = parseNodeList(args.nodes);
      } else {
        const seed = args.seed ? getBytes(args.seed) : Uint8Array.from(randomBytes(32));
        const current = await escrow.getCurrentPeriod();
        const candidates = await loadActiveNodes({ escrow, nodeDirectory }, { lockedUntil: current + periods });
        nodes = sampleNodes(candidates, args.sample!, seed);
        console.log(`sampled ${nodes.length} of ${candidates.length} active nodes with seed ${hexlify(seed)}`);
      }
      const created = await createPolicy(policyManager, token, signer, {
        nodes,
        periods,
        feeRate,
        owner: args.owner ? hre.ethers.getAddress(args.owner) : undefined,
        policyId: args.id,
      });
      const r = created.record;
      console.log(
        `policy ${created.policyId} created for ${r.owner}: periods [${r.startPeriod}, ${r.endPeriod}), ` +
          `${r.nodes.length} nodes at ${formatKms(r.feeRate)} KMS, deposit ${formatKms(created.deposit)} KMS`,
      );
      return created;
    },
  );

kms
  .task("revoke-policy", "Revokes a policy: every period after the current one goes back to the owner")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, types.string)
  .addOptionalParam("signature", "Relay this owner's revocation signature instead of sending as owner")
  .addOptionalParam("deadline", "Deadline (unix time) the signature was made for", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(
    async (args: { id: string; signature?: string; deadline?: string; from?: string }, hre): Promise<bigint> => {
      const { policyManager } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      const id = parsePolicyId(args.id);
      const refund =
        args.signature === undefined
          ? await revokePolicy(policyManager, signer, id)
          : await relayRevocation(policyManager, signer, id, BigInt(args.deadline ?? "0"), args.signature);
      console.log(`policy ${id} revoked; ${formatKms(refund)} KMS refunded to its owner`);
      return refund;
    },
  );

kms
  .task("sign-revocation", "Signs, as the policy owner, a revocation anyone can relay until a deadline")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, types.string)
  .addOptionalParam("validFor", "Seconds the signature stays valid", 86_400, types.int)
  .addOptionalParam("from", "The policy owner (default: the first configured account)", undefined, types.string)
  .setAction(
    async (
      args: { id: string; validFor: number; from?: string },
      hre,
    ): Promise<{ signature: string; deadline: bigint }> => {
      const { policyManager } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      const latest = await hre.ethers.provider.getBlock("latest");
      const deadline = BigInt(latest!.timestamp) + BigInt(args.validFor);
      const signature = await signPolicyRevocation(policyManager, signer, args.id, deadline);
      console.log(`signature ${signature}\ndeadline  ${deadline}`);
      return { signature, deadline };
    },
  );

kms
  .task("refund", "Refunds the owner the periods the policy's nodes missed so far")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, types.string)
  .addOptionalParam("from", "The policy owner (default: the first configured account)", undefined, types.string)
  .setAction(async (args: { id: string; from?: string }, hre): Promise<bigint> => {
    const { policyManager } = await loadDeployment(hre);
    const amount = await refundPolicy(policyManager, await signerFor(hre, args.from), parsePolicyId(args.id));
    console.log(`refunded ${formatKms(amount)} KMS`);
    return amount;
  });

kms
  .task("withdraw-fees", "Withdraws a node's fees of begun periods")
  .addOptionalParam("from", "The staker (default: the first configured account)", undefined, types.string)
  .setAction(async (args: { from?: string }, hre): Promise<bigint> => {
    const { policyManager } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const amount = await withdrawFees(policyManager, signer);
    console.log(`${signer.address} withdrew ${formatKms(amount)} KMS of fees`);
    return amount;
  });

kms
  .task("policy", "Prints a policy's state: periods, per-node accrual, refundable and held amounts")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, types.string)
  .setAction(async (args: { id: string }, hre): Promise<PolicyState> => {
    const { policyManager } = await loadDeployment(hre);
    const state = await describePolicy(policyManager, parsePolicyId(args.id));
    console.log(formatPolicyState(state));
    return state;
  });

kms
  .task("set-min-fee-rate", "Sets a node's minimum fee rate for new policies (as the staker or its operator)")
  .addParam("rate", "Minimum fee per period, in KMS", undefined, types.string)
  .addOptionalParam("node", "The staker (default: the sender)", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { rate: string; node?: string; from?: string }, hre): Promise<bigint> => {
    const { policyManager } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const node = args.node ? hre.ethers.getAddress(args.node) : signer.address;
    const rate = parseFeeRate(args.rate, true);
    await setMinFeeRate(policyManager, signer, node, rate);
    console.log(`minimum fee rate of ${node} set to ${formatKms(rate)} KMS per period`);
    return rate;
  });
