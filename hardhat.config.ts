// Hardhat configuration for umbral-kms.
//
// The compiler comes from the npm `solc` package (pinned to SOLC_VERSION in package.json), never from
// the network: this machine and CI have no internet beyond the npm registry.
import { subtask, task, vars, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks";
import "./tasks/chat";
import "./tasks/stream";
import { mochaHooks } from "./test/support/isolation";

/** The one compiler version this project builds with; `solc` in package.json must be the same. */
export const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solcPackage = require("solc/package.json") as { version: string };
  if (solcPackage.version !== SOLC_VERSION) {
    throw new Error(`npm package solc is ${solcPackage.version}, expected ${SOLC_VERSION}: run npm ci`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: `${SOLC_VERSION}+commit.7893614a`,
  };
});

/**
 * Where the tests' chain starts: the first block each test file mines has this timestamp (the genesis is one
 * second earlier). Pinned so that no test depends on the day it runs or on where "now" falls in a period;
 * `KMS_TEST_START` (ISO 8601 or Unix seconds) moves it, e.g. to one second before a period boundary years
 * from now, which `npm run test:isolation` does. Only `hardhat test` uses it: `npx hardhat node`, the demo
 * and the tasks keep the wall clock.
 */
export const DEFAULT_TEST_START = "2026-01-01T12:00:00Z";

function testGenesisDate(): string {
  const given = process.env.KMS_TEST_START?.trim() || DEFAULT_TEST_START;
  const seconds = /^\d+$/.test(given) ? Number(given) : Date.parse(given) / 1000;
  if (!Number.isFinite(seconds)) throw new Error(`KMS_TEST_START: not a date or Unix time: ${given}`);
  return new Date((Math.floor(seconds) - 1) * 1000).toISOString();
}

task(TASK_TEST, async (args, hre, runSuper) => {
  // The in-process chain is created on its first request, after this: its genesis date can still be set.
  if (hre.network.name === "hardhat") hre.config.networks.hardhat.initialDate = testGenesisDate();
  return runSuper(args);
});

// Remote network settings come from Hardhat configuration variables (`npx hardhat vars set KMS_RPC_URL`),
// stored outside the repository. Nothing secret is committed.
const remoteUrl = vars.get("KMS_RPC_URL", "");
const remoteKey = vars.get("KMS_DEPLOYER_KEY", "");

// A chain of one's own (the system tests in test/system start them): `KMS_CHAIN_URL` is the `chain` network's
// RPC URL (its accounts are the node's own), and `KMS_CHAIN_ID` the chain id `npx hardhat node` serves, so that
// its Ignition deployment (ignition/deployments/chain-<id>) does not mix with localhost's.
const chainUrl = process.env.KMS_CHAIN_URL ?? "";
const chainId = process.env.KMS_CHAIN_ID ? Number(process.env.KMS_CHAIN_ID) : undefined;

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      // Cancun: live on Ethereum mainnet and the major L2s (MCOPY, transient storage, PUSH0).
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: chainId ? { chainId } : {},
    localhost: { url: "http://127.0.0.1:8545" },
    ...(chainUrl ? { chain: { url: chainUrl } } : {}),
    ...(remoteUrl ? { remote: { url: remoteUrl, accounts: remoteKey ? [remoteKey] : [] } } : {}),
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    currency: "USD",
    offline: true,
  },
  mocha: {
    timeout: 120_000,
    // Each test file starts from the pristine chain and leaves it so (test/support/isolation.ts).
    rootHooks: mochaHooks,
  },
};

export default config;
