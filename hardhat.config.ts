// Hardhat configuration for umbral-kms.
//
// The compiler comes from the npm `solc` package (pinned to SOLC_VERSION in package.json), never from
// the network: this machine and CI have no internet beyond the npm registry.
import { subtask, vars, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks";

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

// Remote network settings come from Hardhat configuration variables (`npx hardhat vars set KMS_RPC_URL`),
// stored outside the repository. Nothing secret is committed.
const remoteUrl = vars.get("KMS_RPC_URL", "");
const remoteKey = vars.get("KMS_DEPLOYER_KEY", "");

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
    hardhat: {},
    localhost: { url: "http://127.0.0.1:8545" },
    ...(remoteUrl ? { remote: { url: remoteUrl, accounts: remoteKey ? [remoteKey] : [] } } : {}),
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    currency: "USD",
    offline: true,
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
