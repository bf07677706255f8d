#!/usr/bin/env node
// A `solc` executable for Foundry's forge, backed by the npm `solc` package (solcjs), so forge compiles
// offline with exactly the compiler Hardhat uses. forge calls `solc --version` and
// `solc --standard-json [--base-path P] [--include-path P] [--allow-paths P,...]` with the input on stdin.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

const args = process.argv.slice(2);

if (args.includes("--version")) {
  // forge parses "Version: X.Y.Z+commit.HASH.PLATFORM".
  const version = solc.version().replace(".Emscripten.clang", ".Linux.g++");
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write(`forge-solc: only --version and --standard-json are supported, got: ${args.join(" ")}\n`);
  process.exit(2);
}

// Directories import paths may be resolved against, in the order solc itself would try them.
const roots = [process.cwd()];
for (let i = 0; i < args.length - 1; i++) {
  if (["--base-path", "--include-path", "--allow-paths"].includes(args[i])) roots.push(...args[i + 1].split(","));
}

function findImport(importPath) {
  for (const root of roots) {
    const file = path.resolve(root, importPath);
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: `file not found: ${importPath}` };
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  process.stdout.write(solc.compile(Buffer.concat(chunks).toString("utf8"), { import: findImport }));
});
