// Where the gas of one transaction goes: `traceGas(hre, hash)` replays it with the struct logger and sums the
// cost of each opcode per call depth, listing storage, call and log operations one by one. Used by
// scripts/gas/trace-commit.ts and scripts/gas/trace-slash.ts to find what to optimise; not part of the bench table.
import type { HardhatRuntimeEnvironment } from "hardhat/types";

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

const LISTED = new Set(["SLOAD", "SSTORE", "CALL", "STATICCALL", "DELEGATECALL", "LOG1", "LOG2", "LOG3", "LOG4"]);

/** Prints the storage, call and log operations of a mined transaction and the gas spent at each call depth. */
export async function traceGas(hre: HardhatRuntimeEnvironment, hash: string, label: string): Promise<void> {
  const receipt = await hre.ethers.provider.getTransactionReceipt(hash);
  const trace = (await hre.network.provider.send("debug_traceTransaction", [
    hash,
    { disableStack: false, disableMemory: true, disableStorage: true },
  ])) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const perDepth = new Map<number, number>();
  const perOp = new Map<string, number>();
  const lines: string[] = [];
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i];
    let cost = step.gasCost;
    const next = logs[i + 1];
    if (next && next.depth === step.depth) cost = step.gas - next.gas;
    else if (next && next.depth > step.depth) {
      // A call: its own cost is what the caller lost minus what the callee spent.
      let j = i + 1;
      while (j < logs.length && logs[j].depth > step.depth) j++;
      const after = logs[j];
      const calleeStart = next.gas;
      const calleeEnd = logs[j - 1].gas - logs[j - 1].gasCost;
      cost = after ? step.gas - after.gas - (calleeStart - calleeEnd) : step.gasCost;
    }
    perDepth.set(step.depth, (perDepth.get(step.depth) ?? 0) + cost);
    const opKey = `${step.depth} ${step.op}`;
    perOp.set(opKey, (perOp.get(opKey) ?? 0) + cost);
    if (LISTED.has(step.op)) {
      // The storage key (top of the stack) for SLOAD/SSTORE, shortened.
      const top = step.stack && step.stack.length > 0 ? step.stack[step.stack.length - 1] : "";
      const key =
        step.op === "SLOAD" || step.op === "SSTORE"
          ? ` ${BigInt("0x" + top.replace(/^0x/, ""))
              .toString(16)
              .slice(0, 10)}`
          : "";
      lines.push(`  depth ${step.depth} ${step.op.padEnd(12)} ${String(cost).padStart(6)}${key}`);
    }
  }
  console.log(`== ${label}: gasUsed ${receipt?.gasUsed}`);
  for (const line of lines) console.log(line);
  for (const [depth, gas] of perDepth) console.log(`  execution at depth ${depth}: ${gas}`);
  if (process.env.GAS_TRACE_OPS) {
    // The costliest opcodes per depth (set GAS_TRACE_OPS=1).
    const top = [...perOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
    for (const [op, gas] of top) console.log(`  op ${op.padEnd(18)} ${gas}`);
  }
}
