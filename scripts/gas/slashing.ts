// Gas of Adjudicator.evaluateCFrag on the deployed configuration (scripts/gas/deployed.ts): a correct cfrag, and
// each way a cfrag fails with its slash, in three conditions: a staker that never committed (nothing to settle,
// the slash takes unlocked stake), an active node (committed to the current and the next period, its whole stake
// locked: the lock and both open periods shrink), and the same reported by an account that never held KMS. Each
// row is a different staker's first offence and a fresh reporter. The reward is a pull payment: the verdict holds
// the penalty in the escrow, and claimReward (its own rows, paid by whoever claims) pays the reporter and the reserve.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { GasRow, GasSection } from "./types";
import { gasOf } from "./types";
import { commitAll, deployKMS, newAccount, newNode, nextPeriod, type Deployed, type Node } from "./deployed";
import { DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE } from "../../ignition/modules/KMS";
import { buildEvaluationArgs } from "../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode, type Scenario } from "../../test/contracts/slashing/helpers";

const CASES: [string, string][] = [
  ["kfrag signature invalid (forged rk′, U1′ = rk′·U)", "a self-consistent proof for a forged rk′ with U1′ = rk′·U"],
  ["E equation fails (random z)", "a random z"],
  ["V equation fails (wrong v1)", "a wrong v1 under a proof that fits e1 and U1"],
  ["U equation fails (wrong rk)", "a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)"],
];

const CONDITIONS = [
  { label: "staker never committed, reporter holds KMS", active: false, reporterKms: 1n, note: "best" },
  { label: "active node, reporter holds KMS", active: true, reporterKms: 1n, note: "typical" },
  { label: "active node, reporter never held KMS", active: true, reporterKms: 0n, note: "worst" },
];

async function submit(
  hre: HardhatRuntimeEnvironment,
  d: Deployed,
  s: Scenario,
  node: Node,
  cfrag: Uint8Array,
  kms: bigint,
) {
  const reporter = await newAccount(hre, d, kms);
  const a = buildEvaluationArgs(await signAsNode(node.operator, attested(s, cfrag), d.adjudicator));
  const gas = await gasOf(d.adjudicator.connect(reporter).evaluateCFrag(a.evidence, a.nodeSignature, a.hints));
  return { gas, reporter, digest: await d.adjudicator.attestationDigest(a.evidence), staker: node.staker.address };
}

export const slashingGas: GasSection = {
  title: "Adjudicator",
  async measure(hre) {
    const d = await deployKMS(hre);
    const s = ourScenario();
    // Whole stake locked: a slash of an active node cannot take unlocked tokens first.
    const stake = DEFAULT_MIN_STAKE;
    const periods = DEFAULT_MIN_LOCK_PERIODS + 10n;
    const honest = await newNode(hre, d, stake, periods);
    const cheaters: Node[][] = [];
    for (let c = 0; c < CONDITIONS.length; c++) {
      const row: Node[] = [];
      for (let i = 0; i < CASES.length; i++) row.push(await newNode(hre, d, stake, periods));
      cheaters.push(row);
    }
    const active = [honest, ...cheaters.filter((_, c) => CONDITIONS[c].active).flat()];
    await commitAll(d, active);
    await nextPeriod(hre, d);
    await commitAll(d, active);
    const rows: GasRow[] = [
      {
        operation: "evaluateCFrag, correct cfrag",
        gas: (await submit(hre, d, s, honest, s.cfrag, 1n)).gas,
        limit: 110_000n,
        peer: "182k",
        note: "active node; a Correct verdict is not recorded (no replay-guard slot)",
      },
    ];
    const claims: { label: string; claim: Awaited<ReturnType<typeof submit>> }[] = [];
    for (let i = 0; i < CASES.length; i++) {
      const [label, cheat] = CASES[i];
      for (let c = 0; c < CONDITIONS.length; c++) {
        const condition = CONDITIONS[c];
        const report = await submit(hre, d, s, cheaters[c][i], CHEATS[cheat].make(s).cfrag, condition.reporterKms);
        rows.push({
          operation: `evaluateCFrag + slash, ${label}; ${condition.label}`,
          gas: report.gas,
          limit: 150_000n,
          peer: "267–292k",
          note: `${condition.note}; the staker's first offence; the penalty is held, the reward claimed later`,
        });
        if (i === 0 && condition.active) claims.push({ label: condition.label.split(", ")[1], claim: report });
      }
    }
    for (const { label, claim } of claims) {
      rows.push({
        operation: `claimReward (the reporter pays its reward out), ${label}`,
        gas: await gasOf(d.adjudicator.connect(claim.reporter).claimReward(claim.digest, claim.staker)),
        note:
          label === "reporter never held KMS"
            ? "worst: the reporter's token balance is new storage (+17.1k)"
            : "typical: the escrow's reserve slot and the token transfer to an existing holder",
      });
    }
    return rows;
  },
};
