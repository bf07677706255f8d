// Submitting a cheating node's signed cfrag to the Adjudicator, and reading the verdict back.
import type { Signer } from "ethers";
import type { Adjudicator } from "../../typechain-types";
import { buildEvaluationArgs, VERDICT_NAMES, type SignedCFrag } from "../slashing";

/** The outcome of one evaluation. */
export interface EvaluationOutcome {
  verdict: string;
  staker: string;
  penalty: bigint;
  reward: bigint;
  txHash: string;
}

/** Sends `evidence` to the Adjudicator as `reporter`; resolves with the verdict and any slash. */
export async function submitEvidence(
  adjudicator: Adjudicator,
  reporter: Signer,
  evidence: SignedCFrag,
): Promise<EvaluationOutcome> {
  const args = buildEvaluationArgs(evidence);
  const tx = await adjudicator.connect(reporter).evaluateCFrag(args.evidence, args.nodeSignature, args.hints);
  const receipt = await tx.wait();
  const outcome: EvaluationOutcome = { verdict: "", staker: "", penalty: 0n, reward: 0n, txHash: tx.hash };
  for (const log of receipt?.logs ?? []) {
    const parsed = adjudicator.interface.parseLog(log);
    if (parsed?.name === "CFragEvaluated") {
      outcome.verdict = VERDICT_NAMES[Number(parsed.args.verdict)];
      outcome.staker = parsed.args.staker as string;
    } else if (parsed?.name === "Slashed") {
      outcome.penalty = parsed.args.penalty as bigint;
      outcome.reward = parsed.args.reward as bigint;
    }
  }
  return outcome;
}
