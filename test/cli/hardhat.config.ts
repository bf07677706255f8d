// The project's Hardhat configuration as the command-line tests (test/cli) run it: the same tasks and
// compiler, but `localhost` is the chain the test started (KMS_CLI_RPC_URL, a free loopback port) and
// Ignition records deployments in the test's temporary directory (KMS_CLI_IGNITION_DIR, which holds a link
// to ignition/modules), so a test never touches the repository's deployments or a chain on :8545.
import path from "node:path";
import type { HardhatUserConfig } from "hardhat/config";
import base from "../../hardhat.config";

const root = path.resolve(__dirname, "../..");
const rpcUrl = process.env.KMS_CLI_RPC_URL ?? "http://127.0.0.1:8545";

const config: HardhatUserConfig = {
  ...base,
  paths: {
    root,
    ...(process.env.KMS_CLI_IGNITION_DIR ? { ignition: process.env.KMS_CLI_IGNITION_DIR } : {}),
  },
  networks: { ...base.networks, localhost: { url: rpcUrl } },
};

export default config;
