// Slashing task: submit a node-signed cfrag (an evidence JSON file) to the Adjudicator. Thin: src/slashing
// does the work.
import { kms } from "./scope";
import { FROM, signerFor } from "./accounts";
import { kmsTypes } from "../src/cli/args";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import {
  attestationDomainOf,
  evidenceOf,
  EvidenceFileError,
  predictVerdict,
  readEvidenceFile,
  reportEvidence,
  VERDICT_NAMES,
} from "../src/slashing";

kms
  .task("report", "Submits a node-signed cfrag to the Adjudicator; prints the verdict and any penalty")
  .addParam(
    "evidence",
    "Evidence JSON file (capsule, cfrag, keys, node signature; see docs/slashing.md)",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam("from", `The reporter, who earns the reward. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { evidence: string; from?: string }, hre) => {
    const { evidence: signed, domain } = readEvidenceFile(args.evidence);
    const expected = VERDICT_NAMES[predictVerdict(evidenceOf(signed))];
    const { adjudicator } = await loadDeployment(hre);
    const here = await attestationDomainOf(adjudicator);
    if (here.chainId !== domain.chainId || here.adjudicator.toLowerCase() !== domain.adjudicator.toLowerCase()) {
      throw new EvidenceFileError(
        `this evidence was signed for the Adjudicator ${domain.adjudicator} on chain ${domain.chainId}; ` +
          `the connected deployment is ${here.adjudicator} on chain ${here.chainId}: report it there (--network)`,
      );
    }
    const reporter = await signerFor(hre, args.from);
    console.log(`expected verdict (computed off-chain): ${expected}`);
    const out = await reportEvidence(adjudicator, reporter, signed);
    console.log(`verdict: ${out.verdictName}`);
    console.log(`operator ${out.operator} of staker ${out.staker}`);
    if (out.verdictName !== "Correct") {
      console.log(
        `penalty: ${formatKms(out.penalty)} KMS, reporter reward: ${formatKms(out.reward)} KMS, ` +
          `offence #${out.offences}`,
      );
    }
    console.log(`tx ${out.txHash} (${out.gasUsed} gas)`);
    if (out.claim) console.log(`reward claimed: tx ${out.claim.txHash} (${out.claim.gasUsed} gas)`);
    return out;
  });
