// `npm run bench:gas`: measures the gas of every user-facing operation on the in-process chain and writes
// the table to docs/gas.md. Each contract area contributes a section under scripts/gas/.
import { writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import type { GasSection } from "./gas/types";
import { tokenGas } from "./gas/token";
import { stakingGas } from "./gas/staking";
import { policyGas } from "./gas/policy";
import { slashingGas } from "./gas/slashing";

const sections: GasSection[] = [tokenGas, stakingGas, policyGas, slashingGas];

function fmt(gas: bigint): string {
  return gas.toLocaleString("en-US");
}

async function main(): Promise<void> {
  const lines = [
    "# Gas",
    "",
    "Measured by `npm run bench:gas` (scripts/bench-gas.ts) on Hardhat's in-process EVM, " +
      `Solidity ${hre.config.solidity.compilers[0].version}, optimizer ${hre.config.solidity.compilers[0].settings.optimizer.runs} runs, ` +
      `EVM ${hre.config.solidity.compilers[0].settings.evmVersion}. Gas is the whole transaction's, 21,000 base included.`,
    "",
  ];
  for (const section of sections) {
    const snapshot = await hre.network.provider.send("evm_snapshot", []);
    const rows = await section.measure(hre);
    await hre.network.provider.send("evm_revert", [snapshot]);
    lines.push(`## ${section.title}`, "", "| operation | gas | target (peer) | note |", "| --- | ---: | --- | --- |");
    for (const row of rows) {
      lines.push(`| ${row.operation} | ${fmt(row.gas)} | ${row.target ?? ""} | ${row.note ?? ""} |`);
      console.log(`${section.title.padEnd(16)} ${row.operation.padEnd(60)} ${fmt(row.gas).padStart(10)}`);
    }
    lines.push("");
  }
  const out = path.join(hre.config.paths.root, "docs", "gas.md");
  writeFileSync(out, lines.join("\n"));
  console.log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
