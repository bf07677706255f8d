// The system story (test/system/story.ts) against a second Ethereum client: Foundry's anvil, installed from
// npm (@foundry-rs/anvil-<platform>, an optional dependency like forge). Skipped, saying so, on a platform
// without its package.
import { anvilBinary } from "./harness";
import { systemStory } from "./story";

systemStory(
  {
    name: "anvil",
    start: (harness, port, chainId) =>
      harness.start("anvil", anvilBinary()!, [
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--chain-id",
        String(chainId),
        "--accounts",
        "10",
        "--silent",
      ]),
  },
  () => (anvilBinary() ? undefined : `no anvil for ${process.platform}-${process.arch} in node_modules/.bin`),
);
