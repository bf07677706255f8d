// `npx hardhat run scripts/gas/trace-slash.ts`: traces Adjudicator.evaluateCFrag for a correct cfrag and for a
// cheat failing the U equation (all three equations computed, then the slash), as in scripts/gas/slashing.ts.
import hre from "hardhat";
import { traceGas } from "./trace";
import KMSModule, { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE } from "../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, StakingEscrow } from "../../typechain-types";
import { buildEvaluationArgs } from "../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../../test/contracts/slashing/helpers";

async function main(): Promise<void> {
  const signers = await hre.ethers.getSigners();
  const [deployer, reporter] = signers;
  const deployed = await hre.ignition.deploy(KMSModule);
  const token = deployed.token as unknown as KMSToken;
  const escrow = deployed.escrow as unknown as StakingEscrow;
  const adjudicator = deployed.adjudicator as unknown as Adjudicator;
  await (await token.connect(deployer).transfer(reporter.address, 1n)).wait();
  const bond = async (staker: (typeof signers)[number], operator: (typeof signers)[number]): Promise<void> => {
    await (await token.connect(deployer).transfer(staker.address, DEFAULT_MIN_STAKE)).wait();
    await (await token.connect(staker).approve(await escrow.getAddress(), DEFAULT_MIN_STAKE)).wait();
    await (await escrow.connect(staker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS)).wait();
    await (await escrow.connect(staker).bondOperator(operator.address)).wait();
    await (await escrow.connect(operator).confirmOperator(staker.address)).wait();
  };
  const s = ourScenario();
  const submit = async (operator: (typeof signers)[number], cfrag: Uint8Array): Promise<string> => {
    const a = buildEvaluationArgs(await signAsNode(operator, attested(s, cfrag), adjudicator));
    const tx = await adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints);
    await tx.wait();
    return tx.hash;
  };
  await bond(signers[2], signers[3]);
  await bond(signers[4], signers[5]);
  await traceGas(hre, await submit(signers[3], s.cfrag), "evaluateCFrag, correct cfrag");
  const cheat = CHEATS["a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)"];
  await traceGas(hre, await submit(signers[5], cheat.make(s).cfrag), "evaluateCFrag + slash, U equation fails");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
