// Coverage gate: runs solidity-coverage over the contract tests and fails unless the product contracts
// (contracts/, without the test doubles that .solcover.js skips) reach the thresholds below.
//
//   npm run coverage:gate                 run coverage here, then judge coverage/coverage-summary.json
//   npm run coverage:gate -- --isolated   run it on a copy of the tree in a temp directory (solidity-coverage
//                                         writes instrumented artifacts into artifacts/, which would disturb
//                                         anyone compiling or testing in the same tree meanwhile)
//   npm run coverage:gate -- --summary-only   judge an existing coverage/coverage-summary.json
//
// The task tests (test/contracts/**/*Tasks.test.ts) are left out: they drive the CLI, whose error decoding
// does not survive instrumentation, and every contract path they reach is covered by the contract tests.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";

export const MIN_LINES = 95;
export const MIN_BRANCHES = 90;
export const TEST_GLOB = "test/contracts/**/!(*Tasks).test.ts";

const ROOT = join(__dirname, "..");
/** Never copied into the isolated tree: build outputs, caches and the dependency tree (symlinked instead). */
const NOT_COPIED = new Set(["node_modules", "artifacts", "cache", "cache_forge", "out", "coverage", ".git"]);

interface Metric {
  total: number;
  covered: number;
  pct: number;
}
type Summary = Record<string, { lines: Metric; branches: Metric; statements: Metric; functions: Metric }>;

class CoverageGateError extends Error {
  override name = "CoverageGateError";
}

function runCoverage(cwd: string): void {
  const started = Date.now();
  const result = spawnSync("npx", ["hardhat", "coverage", "--testfiles", TEST_GLOB], { cwd, stdio: "inherit" });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(`coverage run: ${minutes} min`);
  if (result.status !== 0) throw new CoverageGateError(`hardhat coverage exited with status ${result.status}`);
}

function isolatedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "kms-coverage-"));
  cpSync(ROOT, dir, {
    recursive: true,
    filter: (src) => {
      const rel = relative(ROOT, src);
      return rel === "" || !NOT_COPIED.has(rel.split(sep)[0]);
    },
  });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** Sums the product contracts' lines and branches: every file under contracts/ except contracts/test/. */
export function judge(summary: Summary): { lines: number; branches: number; files: string[] } {
  let lines = { total: 0, covered: 0 };
  let branches = { total: 0, covered: 0 };
  const files: string[] = [];
  for (const [file, m] of Object.entries(summary)) {
    if (file === "total") continue;
    const rel = relative(ROOT, file).split(sep).join("/");
    const inContracts = /(^|\/)contracts\//.test(rel) && !/(^|\/)contracts\/(test|staking\/mocks)\//.test(rel);
    if (!inContracts) continue;
    files.push(`${rel.slice(rel.indexOf("contracts/"))}: lines ${m.lines.pct}%, branches ${m.branches.pct}%`);
    lines = { total: lines.total + m.lines.total, covered: lines.covered + m.lines.covered };
    branches = { total: branches.total + m.branches.total, covered: branches.covered + m.branches.covered };
  }
  if (files.length === 0) throw new CoverageGateError("the coverage summary lists no file under contracts/");
  const pct = (m: { total: number; covered: number }) => (m.total === 0 ? 100 : (100 * m.covered) / m.total);
  return { lines: pct(lines), branches: pct(branches), files };
}

function main(): void {
  const args = process.argv.slice(2);
  let dir = ROOT;
  if (!args.includes("--summary-only")) {
    if (args.includes("--isolated")) {
      dir = isolatedCopy();
      console.log(`coverage on a copy of the tree in ${dir}`);
    }
    runCoverage(dir);
  }
  const file = join(dir, "coverage", "coverage-summary.json");
  if (!existsSync(file)) throw new CoverageGateError(`${file} not found: run the coverage first`);
  const summary = JSON.parse(readFileSync(file, "utf8")) as Summary;
  if (dir !== ROOT) {
    cpSync(join(dir, "coverage"), join(ROOT, "coverage"), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  }
  // Paths in the summary are absolute in the directory the coverage ran in; judge relative to it.
  const rebased: Summary = {};
  for (const [k, v] of Object.entries(summary)) rebased[k === "total" ? k : join(ROOT, relative(dir, k))] = v;
  const { lines, branches, files } = judge(rebased);
  for (const f of files) console.log(`  ${f}`);
  const ok = lines >= MIN_LINES && branches >= MIN_BRANCHES;
  console.log(
    `coverage of contracts/: lines ${lines.toFixed(2)}% (min ${MIN_LINES}%), ` +
      `branches ${branches.toFixed(2)}% (min ${MIN_BRANCHES}%): ${ok ? "PASS" : "FAIL"}`,
  );
  if (!ok) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  console.error(e instanceof CoverageGateError ? `coverage gate: ${e.message}` : e);
  process.exitCode = 1;
}
