// A test's wrapper of the pool's task handler (test/node/pool.test.ts), loaded by the workers instead of
// src/node/pool-task: a request whose first capsule is CRASH_CAPSULE ends its worker thread; one whose first
// capsule is HOLD_CAPSULE says "started" on the test's BroadcastChannel and waits there for "release", then
// runs its other capsules. Never loaded by a real node.
import { BroadcastChannel } from "node:worker_threads";
import { runReencryptTask, type ReencryptTask } from "../../src/node/pool-task";

export const CRASH_CAPSULE = "0xdead";
export const HOLD_CAPSULE = "0xbeef";
export const TEST_CHANNEL = "umbral-kms/pool-test";

export default async function (task: ReencryptTask) {
  if (task.capsules[0] === CRASH_CAPSULE) process.exit(7);
  if (task.capsules[0] === HOLD_CAPSULE) {
    const channel = new BroadcastChannel(TEST_CHANNEL);
    const released = new Promise<void>((resolve) => {
      channel.onmessage = (event) => {
        if ((event as MessageEvent).data === "release") resolve();
      };
    });
    channel.postMessage("started");
    await released;
    channel.close();
    return runReencryptTask({ ...task, capsules: task.capsules.slice(1) });
  }
  return runReencryptTask(task);
}
