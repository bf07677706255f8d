// The system story (test/system/story.ts) against Hardhat's own chain, `npx hardhat node`, as a process of
// its own with a chain id of its own (KMS_CHAIN_ID), so its Ignition deployment does not touch localhost's.
import { hardhatNode } from "./harness";
import { systemStory } from "./story";

systemStory(hardhatNode);
