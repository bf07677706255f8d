// The system story (test/system/story.ts) against Hardhat's own chain, `npx hardhat node`, as a process of
// its own with a chain id of its own (KMS_CHAIN_ID), so its Ignition deployment does not touch localhost's.
import { systemStory } from "./story";

systemStory({
  name: "npx hardhat node",
  start: (harness, port, chainId) =>
    harness.start("hardhat node", "npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      KMS_CHAIN_ID: String(chainId),
      HARDHAT_NETWORK: undefined,
    }),
});
