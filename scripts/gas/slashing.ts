// Gas of Adjudicator.evaluateCFrag against the real StakingEscrow (Ignition deployment): a correct cfrag, and
// each way a cfrag fails, with the slash. Each cheat is a different staker's first offence; the reporter
// already holds KMS (a first-time holder adds one 20k storage write to the token transfer).
import type { GasRow, GasSection } from "./types";
import { gasOf } from "./types";
import KMSModule, { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE } from "../../ignition/modules/KMS";
import type { Adjudicator, KMSToken, StakingEscrow } from "../../typechain-types";
import { buildEvaluationArgs } from "../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../../test/contracts/slashing/helpers";

const CASES: [string, string][] = [
  ["kfrag signature invalid (forged rk′, U1′ = rk′·U)", "a self-consistent proof for a forged rk′ with U1′ = rk′·U"],
  ["E equation fails (random z)", "a random z"],
  ["V equation fails (wrong v1)", "a wrong v1 under a proof that fits e1 and U1"],
  ["U equation fails (wrong rk)", "a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)"],
];

export const slashingGas: GasSection = {
  title: "Adjudicator",
  async measure(hre) {
    const { ethers } = hre;
    const signers = await ethers.getSigners();
    const [deployer, reporter] = signers;
    const deployed = await hre.ignition.deploy(KMSModule);
    const token = deployed.token as unknown as KMSToken;
    const escrow = deployed.escrow as unknown as StakingEscrow;
    const adjudicator = deployed.adjudicator as unknown as Adjudicator;
    await (await token.connect(deployer).transfer(reporter.address, 1n)).wait();
    const bond = async (staker: (typeof signers)[number], operator: (typeof signers)[number]) => {
      await (await token.connect(deployer).transfer(staker.address, DEFAULT_MIN_STAKE)).wait();
      await (await token.connect(staker).approve(await escrow.getAddress(), DEFAULT_MIN_STAKE)).wait();
      await (await escrow.connect(staker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS)).wait();
      await (await escrow.connect(staker).bondOperator(operator.address)).wait();
      await (await escrow.connect(operator).confirmOperator(staker.address)).wait();
    };
    const s = ourScenario();
    const submit = async (operator: (typeof signers)[number], cfrag: Uint8Array) => {
      const a = buildEvaluationArgs(await signAsNode(operator, attested(s, cfrag), adjudicator));
      return gasOf(adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints));
    };
    await bond(signers[2], signers[3]);
    const rows: GasRow[] = [
      {
        operation: "evaluateCFrag, correct cfrag",
        gas: await submit(signers[3], s.cfrag),
        target: "≤ 110k (NuCypher 182k)",
      },
    ];
    for (let i = 0; i < CASES.length; i++) {
      const [label, cheat] = CASES[i];
      const staker = signers[4 + 2 * i];
      const operator = signers[5 + 2 * i];
      await bond(staker, operator);
      rows.push({
        operation: `evaluateCFrag + slash, ${label}`,
        gas: await submit(operator, CHEATS[cheat].make(s).cfrag),
        target: "≤ 150k (NuCypher 267–292k)",
        note: "staker's first offence",
      });
    }
    return rows;
  },
};
