// Slashing task: submit a node-signed cfrag (an evidence JSON file) to the Adjudicator. Thin: src/slashing
// does the work.
import { types } from "hardhat/config";
import { kms } from "./scope";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { evidenceOf, predictVerdict, readEvidenceFile, reportEvidence, VERDICT_NAMES } from "../src/slashing";

kms
  .task("report", "Submits a node-signed cfrag to the Adjudicator; prints the verdict and any penalty")
  .addParam("evidence", "Evidence JSON file (capsule, cfrag, keys, node signature; see docs/slashing.md)")
  .addOptionalParam("from", "Reporter account (default: the first configured account)", undefined, types.string)
  .setAction(async (args: { evidence: string; from?: string }, hre) => {
    const signed = readEvidenceFile(args.evidence);
    const expected = VERDICT_NAMES[predictVerdict(evidenceOf(signed))];
    const { adjudicator } = await loadDeployment(hre);
    const reporter = args.from
      ? await hre.ethers.getSigner(hre.ethers.getAddress(args.from))
      : (await hre.ethers.getSigners())[0];
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
    return out;
  });
