// Reporter side: submit a signed cfrag to the Adjudicator and read back the verdict and any slash.
import type { Signer } from "ethers";
import type { Adjudicator } from "../../typechain-types";
import type { SignedCFrag } from "./evidence";
import { buildEvaluationArgs, VERDICT_NAMES } from "./hints";

/** What one evaluation did. */
export interface ReportOutcome {
  /** Verdict number (see `Verdict`) and its name. */
  verdict: number;
  verdictName: string;
  /** The EIP-712 digest the node signed: the Adjudicator's key for the evidence (with the staker). */
  attestationDigest: string;
  operator: string;
  staker: string;
  /** 0 unless slashed. */
  penalty: bigint;
  reward: bigint;
  /** The staker's offence count after this one (0 if not slashed). */
  offences: bigint;
  txHash: string;
  gasUsed: bigint;
}

/** Sends `signed` to `adjudicator` from `reporter`; resolves once mined with the verdict and any slash. */
export async function reportEvidence(
  adjudicator: Adjudicator,
  reporter: Signer,
  signed: SignedCFrag,
): Promise<ReportOutcome> {
  const a = buildEvaluationArgs(signed);
  const tx = await adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints);
  const receipt = await tx.wait();
  if (!receipt) throw new Error(`evaluateCFrag transaction ${tx.hash} was dropped`);
  const out: ReportOutcome = {
    verdict: -1,
    verdictName: "",
    attestationDigest: "",
    operator: "",
    staker: "",
    penalty: 0n,
    reward: 0n,
    offences: 0n,
    txHash: tx.hash,
    gasUsed: receipt.gasUsed,
  };
  for (const log of receipt.logs) {
    const parsed = adjudicator.interface.parseLog(log);
    if (parsed?.name === "CFragEvaluated") {
      out.verdict = Number(parsed.args.verdict);
      out.verdictName = VERDICT_NAMES[out.verdict];
      out.attestationDigest = parsed.args.attestationDigest as string;
      out.operator = parsed.args.operator as string;
      out.staker = parsed.args.staker as string;
    } else if (parsed?.name === "Slashed") {
      out.penalty = parsed.args.penalty as bigint;
      out.reward = parsed.args.reward as bigint;
      out.offences = parsed.args.offences as bigint;
    }
  }
  return out;
}
