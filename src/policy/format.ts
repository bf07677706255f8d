// Human-readable rendering of a policy's state for the CLI.
import { formatUnits } from "ethers";
import type { PolicyState } from "./state";

const kms = (wei: bigint) => `${formatUnits(wei, 18)} KMS`;

/** Renders `state` as lines of text. */
export function formatPolicyState(state: PolicyState): string {
  const r = state.record;
  const lines = [
    `policy ${state.policyId} (${state.status})`,
    `  owner            ${r.owner}`,
    `  periods          [${r.startPeriod}, ${r.endPeriod})${state.revoked ? `, revoked (was until ${state.originalEndPeriod})` : ""}; current ${state.currentPeriod}`,
    `  fee rate         ${kms(r.feeRate)} per node per period`,
    `  deposit          ${kms(state.deposit)}`,
    `  refunded         ${kms(state.refunded)} (settled through period ${r.refundedThrough})`,
    `  refundable now   ${kms(state.refundable)}`,
    `  still held       ${kms(state.held)}`,
    `  nodes (${r.nodes.length}):`,
  ];
  for (const node of state.nodes) {
    const periods = node.committedPeriods.length ? node.committedPeriods.join(", ") : "none";
    lines.push(`    ${node.node}  accrued ${kms(node.accrued)}  committed periods: ${periods}`);
  }
  return lines.join("\n");
}
