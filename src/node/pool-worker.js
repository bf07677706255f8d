// Entry of the re-encryption pool's worker threads (src/node/pool.ts): loads the task module named in the
// worker data (src/node/pool-task, or a test's wrapper of it).
//
// Compiled to JavaScript, that module is a .js file next to this one and is required as is. Run from the
// TypeScript sources (Hardhat tasks, tests, scripts under ts-node), a worker thread does not inherit the
// parent's require hooks, so this one installs a TypeScript loader first, transpile only, as Hardhat's
// ts-node registration is: esbuild's `transformSync` when esbuild is installed (a worker then starts in ~0.5 s
// instead of ts-node's ~4 s here, since ts-node loads the TypeScript compiler in every thread), else ts-node.
"use strict";
const { existsSync, readFileSync } = require("node:fs");
const path = require("node:path");
const { workerData } = require("node:worker_threads");

function installTypeScriptLoader() {
  if (require.extensions[".ts"]) return () => undefined;
  let esbuild;
  try {
    esbuild = require("esbuild");
  } catch {
    if (process.env.TS_NODE_PROJECT === undefined) {
      process.env.TS_NODE_PROJECT = path.join(__dirname, "..", "..", "tsconfig.json");
    }
    require("ts-node").register({ transpileOnly: true });
    return () => undefined;
  }
  process.setSourceMapsEnabled(true);
  require.extensions[".ts"] = (module, filename) => {
    const { code } = esbuild.transformSync(readFileSync(filename, "utf8"), {
      loader: "ts",
      format: "cjs",
      target: "es2022",
      sourcefile: filename,
      sourcemap: "inline",
    });
    module._compile(code, filename);
  };
  // Every module is loaded at the worker's start: esbuild's helper process is not needed after it.
  return () => esbuild.stop();
}

function loadTaskModule(name) {
  const compiled = name.replace(/\.ts$/, "") + ".js";
  if (existsSync(compiled)) return require(compiled);
  const loaded = installTypeScriptLoader();
  try {
    return require(name.endsWith(".ts") ? name : name + ".ts");
  } finally {
    loaded();
  }
}

module.exports = loadTaskModule(workerData.taskModule);
