// Gas of Adjudicator.evaluateCFrag: a correct cfrag, and each way a cfrag fails (with the slash).
import type { GasRow, GasSection } from "./types";
import { gasOf } from "./types";
import { buildEvaluationArgs } from "../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "../../test/contracts/slashing/helpers";

const CASES: [string, string][] = [
  [
    "kfrag signature invalid (forged rk′, U1′ = rk′·U) + slash",
    "a self-consistent proof for a forged rk′ with U1′ = rk′·U",
  ],
  ["E equation fails (random z) + slash", "a random z"],
  ["V equation fails (wrong v1) + slash", "a wrong v1 under a proof that fits e1 and U1"],
  ["U equation fails (wrong rk) + slash", "a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)"],
];

export const slashingGas: GasSection = {
  title: "Adjudicator",
  async measure(hre) {
    const { ethers } = hre;
    const [, operator, staker, reporter] = await ethers.getSigners();
    const escrow = await ethers.deployContract("AdjudicatorEscrowMock");
    const adjudicator = await ethers.deployContract("Adjudicator", [await escrow.getAddress(), 10n ** 20n, 0, 10, 4]);
    await (await escrow.setAdjudicator(await adjudicator.getAddress())).wait();
    await (await escrow.bond(operator.address, staker.address, 10n ** 24n)).wait();
    const s = ourScenario();
    const submit = async (cfrag: Uint8Array) => {
      const a = buildEvaluationArgs(await signAsNode(operator, attested(s, cfrag)));
      return gasOf(adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints));
    };
    const rows: GasRow[] = [
      { operation: "evaluateCFrag, correct cfrag", gas: await submit(s.cfrag), target: "≤ 110k (NuCypher 182k)" },
    ];
    for (const [label, cheat] of CASES) {
      rows.push({
        operation: `evaluateCFrag, ${label}`,
        gas: await submit(CHEATS[cheat].make(s).cfrag),
        target: "≤ 150k (NuCypher 267–292k)",
        note: "escrow mock; first offence",
      });
    }
    return rows;
  },
};
