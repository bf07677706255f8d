// Every test file starts from the same chain state and leaves none behind.
//
// A Mocha root-hook plugin (wired in hardhat.config.ts): before the first test of the run it records the
// pristine in-process chain (a snapshot of its genesis); every top-level suite, which is every test file's
// outer `describe`, then gets a first `before` hook that puts the chain back to that state — same blocks, same
// next timestamp, no deployment, no fixture snapshots, no cached deployment — and a last `after` hook that
// puts it back again. So no file sees what an earlier one did, whatever the order the files run in.
//
// The next block after a reset is mined at the pinned start time (`KMS_TEST_START`, see hardhat.config.ts),
// never at "genesis + however long the earlier files took": what a file sees of the clock does not depend on
// the machine's speed or on which files ran before it.
import type { Context, Hook, Suite } from "mocha";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

interface Pristine {
  snapshot: string;
  /** The timestamp of the pristine chain's latest block: the next block after each reset is one second later. */
  startTime: number;
}

let pristine: Pristine | undefined;

// Loaded lazily: this module is imported by hardhat.config.ts, before the runtime environment exists.
function runtime(): HardhatRuntimeEnvironment {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("hardhat") as HardhatRuntimeEnvironment;
}

async function send(method: string, params: unknown[] = []): Promise<unknown> {
  return runtime().network.provider.send(method, params);
}

/** Puts the in-process chain back to its pristine state and forgets everything that pointed into the old one. */
export async function resetChain(): Promise<void> {
  if (!pristine) throw new Error("test isolation: the pristine chain was not recorded (root hook missing)");
  const reverted = await send("evm_revert", [pristine.snapshot]);
  if (reverted !== true) throw new Error(`test isolation: could not revert to snapshot ${pristine.snapshot}`);
  // A snapshot is consumed by the revert to it: take it again for the next file.
  pristine.snapshot = (await send("evm_snapshot")) as string;
  await send("evm_setNextBlockTimestamp", [pristine.startTime + 1]);
  // Fixture snapshots and cached deployments taken after the pristine snapshot no longer exist on the chain.
  const { clearSnapshots } = await import("@nomicfoundation/hardhat-network-helpers");
  await clearSnapshots();
  const { forgetDeployments } = await import("../../src/deployment");
  forgetDeployments(runtime());
}

function isHardhatNetwork(): boolean {
  return runtime().network.name === "hardhat";
}

/** Adds `fn` as the first `before` hook of `suite` (Mocha appends; the reset must precede the file's own). */
function prependBeforeAll(suite: Suite, title: string, fn: () => Promise<void>): void {
  suite.beforeAll(title, fn);
  const hooks = (suite as unknown as { _beforeAll: Hook[] })._beforeAll;
  if (!Array.isArray(hooks)) throw new Error("test isolation: this Mocha has no Suite._beforeAll");
  const hook = hooks.pop();
  if (hook) hooks.unshift(hook);
}

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    if (!isHardhatNetwork()) return;
    // The chain as the run found it: the genesis block under `hardhat test`.
    const latest = (await send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
    pristine = { snapshot: (await send("evm_snapshot")) as string, startTime: Number(BigInt(latest.timestamp)) };
    const root = this.test?.parent;
    if (!root) throw new Error("test isolation: no root suite");
    for (const suite of root.suites) {
      prependBeforeAll(suite, "test isolation: reset the chain", resetChain);
      suite.afterAll("test isolation: leave the chain as found", resetChain);
    }
  },
};
