// The node's commitment loop against a chain that does not mine what it sends: a commitment dropped from the
// mempool is replaced (same nonce, higher fee) and the node commits; one stuck underpriced is replaced after
// the receipt timeout; and stop() returns while a commitment is still pending.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDeployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import { startNode, type RunningNode } from "../../src/node/daemon";
import { SendAbortedError } from "../../src/node/transactions";

const KMS = 10n ** 18n;

interface PendingTx {
  hash: string;
  from: string;
  nonce: string;
  maxFeePerGas?: string;
  gasPrice: string;
}

/** The transactions from `from` waiting in the in-process chain's mempool. */
async function pendingFrom(from: string): Promise<PendingTx[]> {
  const block = (await hre.network.provider.send("eth_getBlockByNumber", ["pending", true])) as {
    transactions: PendingTx[];
  };
  return block.transactions.filter((tx) => tx.from.toLowerCase() === from.toLowerCase());
}

/** Polls `probe` until it returns something, for at most `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** `promise`'s outcome, or a rejection after `ms` (so a hang fails the test instead of stalling it). */
function bounded<T>(what: string, promise: Promise<T>, ms = 15_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle in ${ms} ms`)), ms)),
  ]);
}

describe("node commitment loop", function () {
  this.timeout(120_000);
  let node: RunningNode | undefined;
  // Every test starts from the same chain: the deployment is made anew after each revert.
  let base: string;
  before(async function () {
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  afterEach(async function () {
    await hre.network.provider.send("evm_setAutomine", [true]);
    // Leave no pending transaction behind for the next test.
    for (const tx of await pendingFrom(node?.operator ?? "0x0000000000000000000000000000000000000000")) {
      await hre.network.provider.send("hardhat_dropTransaction", [tx.hash]);
    }
    await node?.stop();
    node = undefined;
    await hre.network.provider.send("evm_revert", [base]);
    base = await hre.network.provider.send("evm_snapshot", []);
  });

  /** One staked node, committed at start; then a period passes, so it must commit again. */
  async function nodeThatMustCommit(receiptTimeoutMs: number) {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const [deployer, staker, operator] = signers;
    await stakeAndBond(deployment, deployer, { staker, operator, stake: 100_000n * KMS, lockPeriods: 30n });
    node = await startNode({
      escrow: deployment.escrow,
      policyManager: deployment.policyManager,
      nodeDirectory: deployment.nodeDirectory,
      operator,
      dataDir: mkdtempSync(path.join(tmpdir(), "kms-commit-")),
      commitIntervalMs: 3_600_000,
      policyCacheMs: 0,
      transactions: { receiptTimeoutMs, pollMs: 25, maxReplacements: 10 },
      stopTimeoutMs: 2_000,
    });
    await time.increase(await deployment.escrow.periodDuration());
    const next = (await deployment.escrow.getCurrentPeriod()) + 1n;
    expect((await deployment.escrow.getCommittedPeriods(staker.address))[1]).to.be.lessThan(next);
    await hre.network.provider.send("evm_setAutomine", [false]);
    return { deployment, staker, operator, next, node };
  }

  it("replaces a dropped commitment with the same nonce and a higher fee, and commits", async function () {
    const { deployment, staker, operator, next, node } = await nodeThatMustCommit(60_000);
    const committing = node.commitIfNeeded();
    const first = await eventually(
      "the commitment in the mempool",
      async () => (await pendingFrom(operator.address))[0],
    );
    await hre.network.provider.send("hardhat_dropTransaction", [first.hash]);

    // The receipt timeout is a minute: the node notices the drop itself, well before it.
    const replacement = await eventually(
      "a replacement",
      async () => (await pendingFrom(operator.address)).find((tx) => tx.hash !== first.hash),
      20_000,
    );
    expect(BigInt(replacement.nonce)).to.equal(BigInt(first.nonce));
    expect(BigInt(replacement.maxFeePerGas ?? replacement.gasPrice)).to.be.greaterThan(
      BigInt(first.maxFeePerGas ?? first.gasPrice),
    );
    await hre.network.provider.send("evm_mine", []);
    expect(await bounded("commitIfNeeded", committing)).to.equal(true);
    expect((await deployment.escrow.getCommittedPeriods(staker.address))[1]).to.equal(next);
  });

  it("replaces a commitment still pending after the receipt timeout, and commits", async function () {
    const { deployment, staker, operator, next, node } = await nodeThatMustCommit(300);
    const committing = node.commitIfNeeded();
    const first = await eventually(
      "the commitment in the mempool",
      async () => (await pendingFrom(operator.address))[0],
    );
    // Not dropped, just not mined (as an underpriced transaction in a gas spike): the node bumps the fee.
    const replacement = await eventually("a replacement", async () => {
      const [pending] = await pendingFrom(operator.address);
      return pending && pending.hash !== first.hash ? pending : undefined;
    });
    expect(BigInt(replacement.nonce)).to.equal(BigInt(first.nonce));
    await hre.network.provider.send("evm_mine", []);
    expect(await bounded("commitIfNeeded", committing)).to.equal(true);
    expect((await deployment.escrow.getCommittedPeriods(staker.address))[1]).to.equal(next);
  });

  it("stop() returns while a commitment is pending, and the commitment ends as cancelled", async function () {
    const { operator, node } = await nodeThatMustCommit(60_000);
    const committing = node.commitIfNeeded().catch((e: unknown) => e);
    await eventually("the commitment in the mempool", async () => (await pendingFrom(operator.address))[0]);
    await bounded("stop()", node.stop(), 10_000);
    expect(await bounded("commitIfNeeded", committing)).to.be.instanceOf(SendAbortedError);
  });
});
