// `npm run bench:gas`: measures the gas of every user-facing operation on the deployed configuration (the
// Ignition module, scripts/gas/deployed.ts) and writes the tables to docs/gas.md, each row with its conditions,
// its target and whether it is met, and NuCypher v4's figure for the same operation where there is one. Each
// contract area contributes a section under scripts/gas/.
import { writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import type { GasRow, GasSection } from "./gas/types";
import { tokenGas } from "./gas/token";
import { stakingGas } from "./gas/staking";
import { policyGas } from "./gas/policy";
import { slashingGas } from "./gas/slashing";
import { lifecycleGas } from "./gas/lifecycle";
import { conditionsGas } from "./gas/conditions";

const allSections: GasSection[] = [tokenGas, stakingGas, policyGas, lifecycleGas, conditionsGas, slashingGas];
// GAS_ONLY="StakingEscrow,Adjudicator" measures only those sections and prints them without writing docs/gas.md
// (for iterating on one contract; the committed table always comes from a full run).
const only = process.env.GAS_ONLY?.split(",").map((title) => title.trim());
const sections = only ? allSections.filter((section) => only.includes(section.title)) : allSections;

function fmt(gas: bigint): string {
  return gas.toLocaleString("en-US");
}

function kilo(gas: bigint): string {
  return gas % 1000n === 0n ? `${gas / 1000n}k` : fmt(gas);
}

/** "met" or "**missed**" against the row's ceiling, or "" when the row has none. */
function verdict(row: GasRow): string {
  if (row.limit === undefined) return "";
  return row.gas <= row.limit ? "met" : `**missed** (+${fmt(row.gas - row.limit)})`;
}

async function main(): Promise<void> {
  const solc = hre.config.solidity.compilers[0];
  const lines = [
    "# Gas",
    "",
    "Measured by `npm run bench:gas` (scripts/bench-gas.ts) on Hardhat's in-process EVM, " +
      `Solidity ${solc.version}, optimizer ${solc.settings.optimizer.runs} runs, EVM ${solc.settings.evmVersion}, ` +
      "on the deployed configuration: every contract deployed by the Ignition module `ignition/modules/KMS.ts` " +
      "(the escrow wired to its PolicyManager, so every commitment runs the PolicyManager's hook, and to its " +
      "Adjudicator). Gas is the whole transaction's, 21,000 base and calldata included. The peer column is " +
      "NuCypher v4's gas for the same operation, as cited in docs/staking.md, docs/policy.md and docs/slashing.md " +
      "(not measured in this run). Conditions say which case a row is: best, typical or worst, and why.",
    "",
  ];
  const verdicts: string[] = [];
  for (const section of sections) {
    const snapshot = await hre.network.provider.send("evm_snapshot", []);
    const rows = await section.measure(hre);
    await hre.network.provider.send("evm_revert", [snapshot]);
    lines.push(
      `## ${section.title}`,
      "",
      "| operation | gas | target | met? | NuCypher v4 | conditions |",
      "| --- | ---: | --- | --- | --- | --- |",
    );
    for (const row of rows) {
      const target = row.limit !== undefined ? `≤ ${kilo(row.limit)}` : (row.target ?? "");
      lines.push(
        `| ${row.operation} | ${fmt(row.gas)} | ${target} | ${verdict(row)} | ${row.peer ?? ""} | ${row.note ?? ""} |`,
      );
      if (row.limit !== undefined)
        verdicts.push(`- ${section.title}, ${row.operation}: ${fmt(row.gas)}, ${verdict(row)}`);
      console.log(
        `${section.title.padEnd(16)} ${row.operation.padEnd(80)} ${fmt(row.gas).padStart(10)} ${verdict(row)}`,
      );
    }
    lines.push("");
  }
  const missed = verdicts.filter((v) => v.includes("missed"));
  lines.push(
    "## Targets",
    "",
    `${verdicts.length - missed.length} of ${verdicts.length} rows with a target meet it.` +
      (missed.length > 0 ? " Missed:" : ""),
    "",
    ...missed,
    "",
  );
  if (only) return;
  const out = path.join(hre.config.paths.root, "docs", "gas.md");
  writeFileSync(out, lines.join("\n"));
  console.log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
