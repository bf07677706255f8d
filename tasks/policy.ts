// Policy tasks: create (nodes listed or sampled by stake), revoke (as owner, or relaying a signature), sign a
// revocation, refund, withdraw fees, inspect one policy or an owner's, set a node's minimum fee rate. Thin:
// parse, check the obvious, call src/policy, print.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { getBytes, hexlify } from "ethers";
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { exactlyOne, kmsTypes, parseWhole } from "../src/cli/args";
import { ArgumentError, PreflightError } from "../src/cli/errors";
import { checkFeeRate, checkPolicyOwner, checkPolicyPayment } from "../src/cli/checks";
import { toJson } from "../src/cli/print";
import { loadActiveNodes, sampleNodes } from "../src/staking";
import { parseGrant } from "../src/client/grant";
import {
  createPolicy,
  describePolicy,
  formatPolicyState,
  parseFeeRate,
  parseNodeList,
  parsePolicyId,
  parsePolicyPeriods,
  readPolicy,
  refundPolicy,
  relayRevocation,
  revokePolicy,
  setMinFeeRate,
  signPolicyRevocation,
  withdrawFees,
  type CreatedPolicy,
  type PolicyState,
} from "../src/policy";
import type { PolicyManager } from "../typechain-types";

/** What a revocation returned: the periods after the current one, and missed periods refunded with it. */
export interface RevocationOutcome {
  revoked: boolean;
  /** Refund of the periods after the current one (0 when the policy was no longer revocable). */
  future: bigint;
  /** Refund of periods the policy's nodes missed, settled through the current period. */
  missed: bigint;
}

/**
 * Returns everything refundable of `policyId` to its owner: revokes it if it still has periods after the
 * current one, then refunds the periods its nodes missed. Throws PreflightError if neither applies.
 */
async function revokeAndRefund(
  pm: PolicyManager,
  owner: Awaited<ReturnType<typeof signerFor>>,
  policyId: string,
  signed?: { signature: string; deadline: bigint },
): Promise<RevocationOutcome> {
  const { record, revoked } = await readPolicy(pm, policyId);
  if (!signed) checkPolicyOwner(policyId, record, owner.address);
  const current = await pm.getCurrentPeriod();
  const revocable = !revoked && record.endPeriod > current + 1n;
  let future = 0n;
  if (revocable) {
    future = signed
      ? await relayRevocation(pm, owner, policyId, signed.deadline, signed.signature)
      : await revokePolicy(pm, owner, policyId);
  }
  let missed = 0n;
  const after = await readPolicy(pm, policyId);
  const [refundable] = await pm.refundable(policyId, after.record);
  if (refundable > 0n && after.record.owner === owner.address) missed = await refundPolicy(pm, owner, policyId);
  if (!revocable && missed === 0n) {
    throw new PreflightError(
      `policy ${policyId} ${revoked ? "is already revoked" : `ends at period ${record.endPeriod} (now ${current})`} ` +
        `and has nothing to refund${refundable > 0n ? " to this account (the owner can run kms refund)" : ""}`,
    );
  }
  return { revoked: revocable, future, missed };
}

/** The policy id of `--id`, or of the grant file `--grant`. */
export function policyIdOf(args: { id?: string; grant?: string }): string {
  if (exactlyOne(args, ["id", "grant"]) === "id") return parsePolicyId(args.id!);
  return parseGrant(readFileSync(args.grant!, "utf8")).policyId;
}

kms
  .task("create-policy", "Creates a policy and pays its deposit: fee rate × periods × nodes")
  .addOptionalParam("nodes", "Comma-separated staker addresses", undefined, kmsTypes.text)
  .addOptionalParam(
    "sample",
    "Instead of --nodes: pick this many active nodes, weighted by stake",
    undefined,
    kmsTypes.int,
  )
  .addOptionalParam("seed", "Sampling seed as 0x-hex (default: random, printed)", undefined, kmsTypes.hex)
  .addParam("periods", "Number of periods, starting with the current one", undefined, kmsTypes.periods)
  .addParam("feeRate", "Fee per node per period, in KMS (e.g. 0.001)", undefined, kmsTypes.kms)
  .addOptionalParam("owner", "Policy owner (default: the sender)", undefined, kmsTypes.account)
  .addOptionalParam("id", "Policy id, 16 bytes as 0x-hex (default: random)", undefined, kmsTypes.hex)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(
    async (
      args: {
        nodes?: string;
        sample?: number | string;
        seed?: string;
        periods: string;
        feeRate: string;
        owner?: string;
        id?: string;
        from?: string;
      },
      hre,
    ): Promise<CreatedPolicy> => {
      const periods = parsePolicyPeriods(String(args.periods));
      const feeRate = parseFeeRate(String(args.feeRate));
      const how = exactlyOne(args, ["nodes", "sample"]);
      const { token, escrow, policyManager, nodeDirectory } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      await checkFeeRate(policyManager, feeRate);
      let nodes: string[];
      if (how === "nodes") {
        nodes = parseNodeList(args.nodes!);
      } else {
        const count = parseWhole(args.sample!, "--sample", 1);
        const seed = args.seed ? getBytes(args.seed) : Uint8Array.from(randomBytes(32));
        const current = await escrow.getCurrentPeriod();
        const candidates = await loadActiveNodes({ escrow, nodeDirectory }, { lockedUntil: current + periods });
        nodes = sampleNodes(candidates, count, seed);
        console.log(`sampled ${nodes.length} of ${candidates.length} active nodes with seed ${hexlify(seed)}`);
      }
      await checkPolicyPayment({ token, policyManager }, signer.address, {
        feeRate,
        periods,
        shares: nodes.length,
        nodes,
      });
      const created = await createPolicy(policyManager, token, signer, {
        nodes,
        periods,
        feeRate,
        owner: args.owner ? await addressFor(hre, args.owner) : undefined,
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
  .task(
    "revoke-policy",
    "Revokes a policy and refunds everything refundable: the periods after the current one and any periods its nodes missed",
  )
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, kmsTypes.hex)
  .addOptionalParam(
    "signature",
    "Relay this owner's revocation signature instead of sending as owner",
    undefined,
    kmsTypes.hex,
  )
  .addOptionalParam("deadline", "Deadline (unix time) the signature was made for", undefined, kmsTypes.int)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(
    async (args: { id: string; signature?: string; deadline?: string; from?: string }, hre): Promise<bigint> => {
      const id = parsePolicyId(args.id);
      if ((args.signature === undefined) !== (args.deadline === undefined)) {
        throw new ArgumentError("--signature and --deadline go together");
      }
      const { policyManager } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      const signed =
        args.signature === undefined
          ? undefined
          : { signature: args.signature, deadline: BigInt(parseWhole(args.deadline!, "--deadline")) };
      const outcome = await revokeAndRefund(policyManager, signer, id, signed);
      const parts = [];
      if (outcome.revoked) parts.push(`revoked; ${formatKms(outcome.future)} KMS of the periods to come refunded`);
      if (outcome.missed > 0n) parts.push(`${formatKms(outcome.missed)} KMS of periods its nodes missed refunded`);
      console.log(`policy ${id} ${parts.join(", and ")} (total ${formatKms(outcome.future + outcome.missed)} KMS)`);
      return outcome.future + outcome.missed;
    },
  );

kms
  .task("sign-revocation", "Signs, as the policy owner, a revocation anyone can relay until a deadline")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, kmsTypes.hex)
  .addOptionalParam("validFor", "Seconds the signature stays valid", 86_400, kmsTypes.int)
  .addOptionalParam("from", `The policy owner. ${FROM}`, undefined, kmsTypes.account)
  .setAction(
    async (
      args: { id: string; validFor: number | string; from?: string },
      hre,
    ): Promise<{ signature: string; deadline: bigint }> => {
      const id = parsePolicyId(args.id);
      const validFor = parseWhole(args.validFor, "--valid-for", 1);
      const { policyManager } = await loadDeployment(hre);
      const signer = await signerFor(hre, args.from);
      checkPolicyOwner(id, (await readPolicy(policyManager, id)).record, signer.address);
      const latest = await hre.ethers.provider.getBlock("latest");
      const deadline = BigInt(latest!.timestamp) + BigInt(validFor);
      const signature = await signPolicyRevocation(policyManager, signer, id, deadline);
      console.log(`signature ${signature}\ndeadline  ${deadline}`);
      return { signature, deadline };
    },
  );

kms
  .task("refund", "Refunds the owner the periods the policy's nodes missed so far (kms revoke-policy includes it)")
  .addParam("id", "Policy id (0x-hex, 16 bytes)", undefined, kmsTypes.hex)
  .addOptionalParam("from", `The policy owner. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { id: string; from?: string }, hre): Promise<bigint> => {
    const id = parsePolicyId(args.id);
    const { policyManager } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    checkPolicyOwner(id, (await readPolicy(policyManager, id)).record, signer.address);
    const amount = await refundPolicy(policyManager, signer, id);
    console.log(`refunded ${formatKms(amount)} KMS`);
    return amount;
  });

kms
  .task("withdraw-fees", "Withdraws a node's fees of begun periods")
  .addOptionalParam("from", `The staker. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { from?: string }, hre): Promise<bigint> => {
    const { policyManager } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const amount = await withdrawFees(policyManager, signer);
    console.log(`${signer.address} withdrew ${formatKms(amount)} KMS of fees`);
    return amount;
  });

kms
  .task("policy", "Prints a policy's state: periods, per-node accrual, refundable and held amounts")
  .addOptionalParam("id", "Policy id (0x-hex, 16 bytes)", undefined, kmsTypes.hex)
  .addOptionalParam("grant", "Instead of --id: a grant file", undefined, kmsTypes.file)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async (args: { id?: string; grant?: string; json: boolean }, hre): Promise<PolicyState> => {
    const id = policyIdOf(args);
    const { policyManager } = await loadDeployment(hre);
    const state = await describePolicy(policyManager, id);
    console.log(args.json ? toJson(state) : formatPolicyState(state));
    return state;
  });

/** One line per policy of an owner, as `kms policies` prints it. */
interface PolicySummary {
  policyId: string;
  status: "active" | "ended" | "revoked";
  startPeriod: bigint;
  endPeriod: bigint;
  nodes: number;
  feeRate: bigint;
  deposit: bigint;
  refunded: bigint;
  refundable: bigint;
}

async function policiesOf(pm: PolicyManager, owner: string): Promise<PolicySummary[]> {
  const current = await pm.getCurrentPeriod();
  const created = await pm.queryFilter(pm.filters.PolicyCreated(undefined, owner));
  const out: PolicySummary[] = [];
  for (const event of created) {
    const history = await readPolicy(pm, event.args.policyId);
    const { record } = history;
    const [refundable] = await pm.refundable(history.policyId, record);
    out.push({
      policyId: history.policyId,
      status: history.revoked ? "revoked" : current >= record.endPeriod ? "ended" : "active",
      startPeriod: record.startPeriod,
      endPeriod: record.endPeriod,
      nodes: record.nodes.length,
      feeRate: record.feeRate,
      deposit: history.deposit,
      refunded: history.refunded,
      refundable,
    });
  }
  return out;
}

kms
  .task("policies", "Lists an owner's policies and their state")
  .addOptionalParam("owner", "Owner: address or account index (default #0)", "#0", kmsTypes.account)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async (args: { owner: string; json: boolean }, hre): Promise<PolicySummary[]> => {
    const { policyManager } = await loadDeployment(hre);
    const owner = await addressFor(hre, args.owner);
    const policies = await policiesOf(policyManager, owner);
    if (args.json) {
      console.log(toJson(policies));
    } else if (policies.length === 0) {
      console.log(`${owner} owns no policies`);
    } else {
      for (const p of policies) {
        console.log(
          `${p.policyId}  ${p.status.padEnd(7)}  periods [${p.startPeriod}, ${p.endPeriod})  ${p.nodes} nodes at ` +
            `${formatKms(p.feeRate)} KMS  deposit ${formatKms(p.deposit)} KMS  refunded ${formatKms(p.refunded)} KMS` +
            `  refundable now ${formatKms(p.refundable)} KMS`,
        );
      }
    }
    return policies;
  });

kms
  .task("set-min-fee-rate", "Sets a node's minimum fee rate for new policies (as the staker or its operator)")
  .addParam("rate", "Minimum fee per period, in KMS", undefined, kmsTypes.kms)
  .addOptionalParam("node", "The staker (default: the sender)", undefined, kmsTypes.account)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { rate: string; node?: string; from?: string }, hre): Promise<bigint> => {
    const rate = parseFeeRate(args.rate, true);
    const { policyManager } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const node = args.node ? await addressFor(hre, args.node) : signer.address;
    await policyManager.connect(signer).setMinFeeRate.staticCall(node, rate); // a refusal costs no gas
    await setMinFeeRate(policyManager, signer, node, rate);
    console.log(`minimum fee rate of ${node} set to ${formatKms(rate)} KMS per period`);
    return rate;
  });
