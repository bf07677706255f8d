// Guards the suite's hermeticity: every Hardhat test file alone, then the whole suite in reverse file order
// with the chain started one second before a period boundary five years on (the suites that run their own
// chain and node processes excepted: see OWN_PROCESSES). A test that leans on state left
// by another file, on the order of files, on the day it runs or on where "now" falls in a period fails here.
//
//   npm run test:isolation            both checks (npm test runs this)
//   npm run test:isolation -- --alone each file alone only
//   npm run test:isolation -- --order the reversed, re-dated suite only
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
/**
 * Suites that drive their own chain and node processes (test/system, test/cli): they share no in-process chain
 * with other files, start and stop everything they use in their own hooks, and take minutes each, so the
 * isolation runs leave them out (`hardhat test` runs them once).
 */
const OWN_PROCESSES = [path.join("test", "system") + path.sep, path.join("test", "cli") + path.sep];
const HARDHAT = path.join(ROOT, "node_modules", ".bin", "hardhat");
/** One second before the boundary of period 22,645 (2032-01-01T00:00:00Z) with one-day periods. */
const BOUNDARY_START = "2031-12-31T23:59:59Z";

function testFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) files.push(...testFiles(full));
    else if (name.endsWith(".test.ts")) files.push(path.relative(ROOT, full));
  }
  return files;
}

interface Outcome {
  label: string;
  ok: boolean;
  seconds: number;
  summary: string;
}

function run(label: string, files: string[], env: NodeJS.ProcessEnv = {}): Outcome {
  const started = process.hrtime.bigint();
  const child = spawnSync(HARDHAT, ["test", ...files], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const output = `${child.stdout}\n${child.stderr}`;
  const counts = [...output.matchAll(/^\s*(\d+) (passing|failing|pending)/gm)].map((m) => `${m[1]} ${m[2]}`);
  const ok = child.status === 0;
  if (!ok) process.stdout.write(output);
  return { label, ok, seconds, summary: counts.join(", ") || `exit ${child.status ?? child.signal}` };
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  const all = !args.has("--alone") && !args.has("--order");
  const files = testFiles(path.join(ROOT, "test")).filter((f) => !OWN_PROCESSES.some((dir) => f.startsWith(dir)));
  const outcomes: Outcome[] = [];
  const report = (o: Outcome) => {
    outcomes.push(o);
    console.log(`${o.ok ? "ok  " : "FAIL"} ${o.label}: ${o.summary} (${o.seconds.toFixed(1)} s)`);
  };
  if (all || args.has("--alone")) for (const file of files) report(run(`alone ${file}`, [file]));
  if (all || args.has("--order")) {
    report(
      run(`reverse order, chain from ${BOUNDARY_START}`, [...files].reverse(), { KMS_TEST_START: BOUNDARY_START }),
    );
  }
  const failed = outcomes.filter((o) => !o.ok);
  const total = outcomes.reduce((sum, o) => sum + o.seconds, 0);
  console.log(`isolation: ${outcomes.length - failed.length} runs ok, ${failed.length} failed, ${total.toFixed(0)} s`);
  if (failed.length > 0) process.exitCode = 1;
}

main();
