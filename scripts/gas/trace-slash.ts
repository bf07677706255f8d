// `npx hardhat run scripts/gas/trace-slash.ts`: traces Adjudicator.evaluateCFrag on the deployed configuration
// (scripts/gas/deployed.ts) for a correct cfrag and for the worst slash: a cheat failing the U equation (every
// check computed, then the slash) by an active node (committed to the current and the next period, its whole
// stake locked, so the lock and both open periods shrink), reported by an account that never held KMS.
import hre from "hardhat";
import { traceGas } from "./trace";
import { commitAll, deployKMS, newAccount, newNode, nextPeriod, type Node } from "./deployed";
import { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE } from "../../ignition/modules/KMS";
import { buildEvaluationArgs } from "../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../../test/contracts/slashing/helpers";

async function main(): Promise<void> {
  const d = await deployKMS(hre);
  const s = ourScenario();
  const submit = async (node: Node, cfrag: Uint8Array): Promise<string> => {
    const reporter = await newAccount(hre, d);
    const a = buildEvaluationArgs(await signAsNode(node.operator, attested(s, cfrag), d.adjudicator));
    const tx = await d.adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints);
    await tx.wait();
    return tx.hash;
  };
  const honest = await newNode(hre, d, DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS + 10n);
  const cheater = await newNode(hre, d, DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS + 10n);
  await commitAll(d, [honest, cheater]);
  await nextPeriod(hre, d);
  await commitAll(d, [honest, cheater]);
  await traceGas(hre, await submit(honest, s.cfrag), "evaluateCFrag, correct cfrag");
  const cheat = CHEATS["a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)"];
  await traceGas(
    hre,
    await submit(cheater, cheat.make(s).cfrag),
    "evaluateCFrag + slash, U equation fails, active node, reporter without KMS",
  );
  const forger = await newNode(hre, d, DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS + 10n);
  await commitAll(d, [forger]);
  await nextPeriod(hre, d);
  await commitAll(d, [forger]);
  const forged = CHEATS["a self-consistent proof for a forged rk′ with U1′ = rk′·U"];
  await traceGas(
    hre,
    await submit(forger, forged.make(s).cfrag),
    "evaluateCFrag + slash, kfrag signature invalid, active node, reporter without KMS",
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
