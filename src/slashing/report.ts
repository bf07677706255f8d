// Reporter side: submit a signed cfrag to the Adjudicator and read back the verdict and any slash, then claim the
// reporter's reward (a second transaction: the verdict holds the penalty in the escrow, see docs/slashing.md).
import { Interface, type Signer } from "ethers";
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
  /** The claim of the reward ({claimReward}), when one was sent: its transaction and gas. */
  claim?: { reward: bigint; txHash: string; gasUsed: bigint };
}

/** The escrow's events of a slash (the Adjudicator leaves them to the escrow, which emits them once). */
const ESCROW_EVENTS = new Interface([
  "event Slashed(address indexed staker, uint256 penalty, address indexed reporter, uint256 reward, uint256 offences)",
  "event OffenceRecorded(address indexed staker, uint256 offences)",
]);

/** Options of {@link reportEvidence}. */
export interface ReportOptions {
  /** Claim the reporter's reward right after a cheating verdict with a reward (default true). */
  claim?: boolean;
}

/** Claims the reward of the cheating verdict of `attestationDigest` against `staker` (paid to its reporter). */
export async function claimReporterReward(
  adjudicator: Adjudicator,
  caller: Signer,
  attestationDigest: string,
  staker: string,
): Promise<{ reward: bigint; txHash: string; gasUsed: bigint }> {
  const { reward } = await adjudicator.judgementOf(attestationDigest, staker);
  const tx = await adjudicator.connect(caller).claimReward(attestationDigest, staker);
  const receipt = await tx.wait();
  if (!receipt) throw new Error(`claimReward transaction ${tx.hash} was dropped`);
  return { reward, txHash: tx.hash, gasUsed: receipt.gasUsed };
}

/**
 * Sends `signed` to `adjudicator` from `reporter`; resolves once mined with the verdict and any slash, after
 * claiming the reward (unless `options.claim` is false).
 */
export async function reportEvidence(
  adjudicator: Adjudicator,
  reporter: Signer,
  signed: SignedCFrag,
  options: ReportOptions = {},
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
  const escrow = (await adjudicator.escrow()).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() === escrow) {
      const event = ESCROW_EVENTS.parseLog(log);
      if (event?.name === "Slashed") {
        out.penalty = event.args.penalty as bigint;
        out.reward = event.args.reward as bigint;
      }
      if (event) out.offences = event.args.offences as bigint;
      continue;
    }
    const parsed = adjudicator.interface.parseLog(log);
    if (parsed?.name === "CFragEvaluated") {
      out.verdict = Number(parsed.args.verdict);
      out.verdictName = VERDICT_NAMES[out.verdict];
      out.attestationDigest = parsed.args.attestationDigest as string;
      out.operator = parsed.args.operator as string;
      out.staker = parsed.args.staker as string;
    }
  }
  if (out.reward > 0n && options.claim !== false) {
    out.claim = await claimReporterReward(adjudicator, reporter, out.attestationDigest, out.staker);
  }
  return out;
}
