// The node's view of policies costs the chain little per request (issue 20, item 6): the period is computed
// locally, policy logs are searched from the PolicyManager's deployment block, and the cache is a bounded LRU
// that keeps "no such policy" answers too. Every RPC call goes through a counting EIP-1193 wrapper.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { loadDeployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import { findDeploymentBlock, policyViewOf } from "../../src/network/chain";
import { createPolicy, randomPolicyId } from "../../src/policy";
import type { PolicyManager } from "../../typechain-types";

const KMS = 10n ** 18n;

describe("policy view over the chain (RPC amplification)", function () {
  this.timeout(120_000);

  // Each test starts from the chain as the file found it.
  let base: string;
  beforeEach(async function () {
    base = (await hre.network.provider.send("evm_snapshot", [])) as string;
  });
  afterEach(async function () {
    await hre.network.provider.send("evm_revert", [base]);
  });

  /** The PolicyManager over a provider that records every JSON-RPC request. */
  function counted(pm: PolicyManager) {
    const calls: { method: string; params: unknown[] }[] = [];
    const inner = hre.network.provider;
    const wrapper: Eip1193Provider = {
      request: async (args: { method: string; params?: unknown[] | Record<string, unknown> }) => {
        calls.push({ method: args.method, params: (args.params ?? []) as unknown[] });
        return inner.request(args as { method: string; params?: unknown[] });
      },
    };
    const provider = new BrowserProvider(wrapper, undefined, { cacheTimeout: -1 });
    const count = (method: string) => calls.filter((c) => c.method === method).length;
    return { pm: pm.connect(provider), provider, calls, count };
  }

  async function world() {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    await stakeAndBond(deployment, signers[0], {
      staker: signers[1],
      operator: signers[2],
      stake: 100_000n * KMS,
      lockPeriods: 60n,
    });
    const feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    const created = await createPolicy(deployment.policyManager, deployment.token, signers[0], {
      nodes: [signers[1].address],
      periods: 5n,
      feeRate,
    });
    return { deployment, signers, created };
  }

  it("finds the PolicyManager's deployment block", async function () {
    const { deployment } = await world();
    const address = await deployment.policyManager.getAddress();
    const block = await findDeploymentBlock(hre.ethers.provider, address);
    expect(await hre.ethers.provider.getCode(address, block)).to.not.equal("0x");
    expect(block).to.be.greaterThan(0);
    expect(await hre.ethers.provider.getCode(address, block - 1)).to.equal("0x");
  });

  it("computes the current period locally: no eth_call per request, and it follows the chain's clock", async function () {
    const { deployment } = await world();
    const { pm, count } = counted(deployment.policyManager);
    const view = policyViewOf(pm, { cacheMs: 60_000 });
    const expected = await deployment.policyManager.getCurrentPeriod();
    for (let i = 0; i < 20; i++) expect(await view.currentPeriod()).to.equal(expected);
    // periodDuration once; the latest block's timestamp once per cacheMs.
    expect(count("eth_call")).to.equal(1);
    expect(count("eth_getBlockByNumber")).to.equal(1);

    // With no cache every call follows the chain's clock, across a period boundary too.
    const fresh = policyViewOf(counted(deployment.policyManager).pm, { cacheMs: 0 });
    const duration = await deployment.escrow.periodDuration();
    await time.increaseTo((expected + 1n) * duration);
    expect(await fresh.currentPeriod()).to.equal(expected + 1n);
    expect(await fresh.currentPeriod()).to.equal(await deployment.policyManager.getCurrentPeriod());
  });

  it("searches policy logs from the deployment block, never from block 0", async function () {
    const { deployment, created, signers } = await world();
    const { pm, calls } = counted(deployment.policyManager);
    const from = await findDeploymentBlock(hre.ethers.provider, await deployment.policyManager.getAddress());
    const view = policyViewOf(pm, { cacheMs: 0 });
    const policy = await view.getPolicy(created.policyId);
    expect(policy?.owner).to.equal(signers[0].address);
    expect(policy?.nodes).to.deep.equal([signers[1].address]);
    expect(await view.getPolicy(randomPolicyId())).to.equal(undefined);
    const logQueries = calls.filter((c) => c.method === "eth_getLogs");
    expect(logQueries.length).to.be.greaterThan(0);
    for (const query of logQueries) {
      expect((query.params[0] as { fromBlock: string }).fromBlock).to.equal("0x" + from.toString(16));
    }
  });

  it("keeps a bounded LRU of policies, with entries for unknown ids", async function () {
    const { deployment, created } = await world();
    const { pm, count } = counted(deployment.policyManager);
    const view = policyViewOf(pm, { cacheMs: 60_000, maxCachedPolicies: 8, fromBlock: 0 });
    const ids = Array.from({ length: 20 }, () => randomPolicyId());
    for (const id of ids) expect(await view.getPolicy(id)).to.equal(undefined);
    expect(view.cachedPolicies).to.equal(8);
    // An unknown id asked again is answered from the cache (a negative entry): no new log query.
    const queries = count("eth_getLogs");
    expect(await view.getPolicy(ids[19])).to.equal(undefined);
    expect(count("eth_getLogs")).to.equal(queries);
    // Concurrent reads of one id share one read.
    const [a, b] = await Promise.all([view.getPolicy(created.policyId), view.getPolicy(created.policyId)]);
    expect(a).to.equal(b);
    expect(view.cachedPolicies).to.equal(8);
  });
});
