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
    `  periods          [${r.startPeriod}, ${r.endPeriod})${state.revoked ? `, revoked (was until ${state.scheduledEndPeriod})` : ""}${extendedNote(state)}; current ${state.currentPeriod}`,
    `  fee rate         ${kms(r.feeRate)} per node per period`,
    `  deposit          ${kms(state.deposit)}`,
    `  refunded         ${kms(state.refunded)} (settled through period ${r.refundedThrough})`,
    `  refundable now   ${kms(state.refundable)}`,
    `  still held       ${kms(state.held)}`,
    `  nodes (${r.nodes.length}):`,
  ];
  const moved = state.slotMoves.length > 0;
  for (const node of state.nodes) {
    const periods = node.committedPeriods.length ? node.committedPeriods.join(", ") : "none";
    // After a slot move a node serves only part of the policy: say which slot and periods.
    const tenure = moved ? `  slot ${node.slot} [${node.fromPeriod}, ${node.untilPeriod})` : "";
    lines.push(`    ${node.node}${tenure}  accrued ${kms(node.accrued)}  committed periods: ${periods}`);
  }
  return lines.join("\n");
}

/** ", extended from period E" when the policy was extended. */
function extendedNote(state: PolicyState): string {
  return state.extensions.length ? `, extended from period ${state.originalEndPeriod}` : "";
}
