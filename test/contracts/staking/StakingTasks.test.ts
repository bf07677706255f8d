// The `kms` staking tasks, run through hre.run on the in-process chain against the Ignition deployment.
import { expect } from "chai";
import hre from "hardhat";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { loadDeployment } from "../../../src/deployment";
import { PreflightError } from "../../../src/cli/errors";
import { advancePeriods, InvalidPeriodsError, NotLocalChainError, type StakerSummary } from "../../../src/staking";
import { DEFAULT_MINING_RESERVE } from "../../../ignition/modules/KMS";

const KMS = 10n ** 18n;

function run<T = unknown>(task: string, args: Record<string, unknown> = {}): Promise<T> {
  return hre.run({ scope: "kms", task }, args) as Promise<T>;
}

describe("staking tasks", function () {
  let snapshot: string;
  let log: typeof console.log;

  before(async function () {
    snapshot = await hre.network.provider.send("evm_snapshot", []);
    // The tasks print for people; keep the test output clean.
    log = console.log;
    console.log = () => undefined;
  });

  after(async function () {
    console.log = log;
    await hre.network.provider.send("evm_revert", [snapshot]);
  });

  /** A fresh account the tasks can send from (impersonated), so no earlier test's state gets in the way. */
  async function freshAccount() {
    const address = hre.ethers.Wallet.createRandom().address;
    await hre.network.provider.send("hardhat_impersonateAccount", [address]);
    await hre.network.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]);
    return hre.ethers.getSigner(address);
  }

  it("deploys the escrow with the mining reserve through the Ignition module", async function () {
    const { token, escrow } = await loadDeployment(hre);
    expect(await escrow.token()).to.equal(await token.getAddress());
    const [funded] = await escrow.queryFilter(escrow.filters.ReserveFunded());
    expect(funded.args.value).to.equal(DEFAULT_MINING_RESERVE);
    expect(await escrow.unallocatedReserve()).to.be.lessThanOrEqual(DEFAULT_MINING_RESERVE);
    expect(await token.balanceOf(await escrow.getAddress())).to.be.greaterThanOrEqual(DEFAULT_MINING_RESERVE);
  });

  it("walks a node through deposit, lock, bond, commit, advance, staker, mint, prolong, withdraw", async function () {
    const { token, escrow } = await loadDeployment(hre);
    const [deployer] = await hre.ethers.getSigners();
    const staker = await freshAccount();
    const operator = await freshAccount();
    await (await token.connect(deployer).transfer(staker.address, 50_000n * KMS)).wait();

    await run("deposit", { amount: "20000", lock: "40", from: staker.address });
    const start = await escrow.getCurrentPeriod();
    expect(await escrow.getLock(staker.address)).to.deep.equal([20_000n * KMS, start + 40n]);

    await run("deposit", { amount: "5000.5", from: staker.address });
    await run("lock", { amount: "5000", periods: "0", from: staker.address });
    await run("prolong", { periods: "3", from: staker.address });
    expect(await escrow.getLock(staker.address)).to.deep.equal([25_000n * KMS, start + 43n]);

    await run("bond-operator", { operator: operator.address, from: staker.address });
    expect(await escrow.pendingOperatorOf(staker.address)).to.equal(operator.address);
    await run("confirm-operator", { staker: staker.address, from: operator.address });
    expect(await escrow.stakerFromOperator(operator.address)).to.equal(staker.address);

    await run("commit", { from: operator.address });
    const committed = start + 1n;
    expect(await run("advance-periods", { n: "2" })).to.equal(start + 2n);
    expect(await escrow.getCurrentPeriod()).to.equal(start + 2n);

    const summary = await run<StakerSummary>("staker", { address: staker.address });
    // Exactly its share of the period (it may not be the only node committed to it).
    const reward = (25_000n * KMS * (await escrow.issuanceOf(committed))) / (await escrow.lockedPerPeriod(committed));
    expect(reward).to.be.greaterThan(0n);
    expect(summary.pendingReward).to.equal(reward);
    expect(summary.committedPeriods).to.deep.equal([committed]);
    expect(summary.activeLock).to.equal(25_000n * KMS);
    expect(summary.withdrawable).to.equal(KMS / 2n);
    expect(summary.operator).to.equal(operator.address);

    await run("mint", { from: staker.address });
    expect(await escrow.stakeOf(staker.address)).to.equal(25_000n * KMS + KMS / 2n + reward);
    const before = await token.balanceOf(staker.address);
    await run("withdraw", { amount: "0.5", from: staker.address });
    expect(await token.balanceOf(staker.address)).to.equal(before + KMS / 2n);
  });

  /** Task failures reach people as one line (tasks/scope.ts wraps them); the cause stays attached. */
  async function expectTaskFailure(promise: Promise<unknown>, cause: new (...args: never[]) => Error, message: RegExp) {
    const error = (await promise.then(
      () => expect.fail("the task should have failed"),
      (e: unknown) => e,
    )) as Error & { parent?: unknown };
    expect(error.message).to.match(message);
    expect(error.parent ?? error).to.be.instanceOf(cause);
  }

  it("rejects malformed period counts before sending anything", async function () {
    const { escrow } = await loadDeployment(hre);
    const period = await escrow.getCurrentPeriod();
    await expectTaskFailure(run("advance-periods", { n: "0" }), InvalidPeriodsError, /got 0$/);
    await expectTaskFailure(run("prolong", { periods: "-1" }), InvalidPeriodsError, /got "-1"/);
    await expectTaskFailure(run("deposit", { amount: "1", lock: "x" }), InvalidPeriodsError, /lock periods .* got "x"/);
    expect(await escrow.getCurrentPeriod()).to.equal(period);
  });

  it("refuses a withdrawal beyond the unlocked stake before sending it, in KMS", async function () {
    const staker = await freshAccount();
    await expectTaskFailure(
      run("withdraw", { amount: "1", from: staker.address }),
      PreflightError,
      /cannot withdraw 1\.0 KMS: 0x[0-9a-fA-F]{40} can withdraw 0\.0 KMS now/,
    );
  });

  it("refuses to advance time on a chain that is not local", async function () {
    const { escrow } = await loadDeployment(hre);
    const remote = {
      network: { name: "remote", provider: hre.network.provider },
      ethers: { provider: { getNetwork: async () => ({ chainId: 1n }) } },
    } as unknown as HardhatRuntimeEnvironment;
    const period = await escrow.getCurrentPeriod();
    await expect(advancePeriods(remote, escrow, 1n)).to.be.rejectedWith(NotLocalChainError, /"remote" \(chain 1\)/);
    expect(await escrow.getCurrentPeriod()).to.equal(period);
  });
});
