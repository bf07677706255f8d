// The `kms` policy tasks, run through hre.run on the in-process chain against the Ignition deployment:
// create (listed and sampled nodes), inspect, commit, withdraw fees, refund, revoke (as owner and relayed),
// set a node's minimum fee rate, and the input errors caught before anything is sent.
import { expect } from "chai";
import hre from "hardhat";
import { HardhatPluginError } from "hardhat/plugins";
import { loadDeployment } from "../../../src/deployment";
import { ArgumentError } from "../../../src/cli/errors";
import { advancePeriods, bondOperator, commit, confirmOperator, deposit } from "../../../src/staking";
import {
  InvalidFeeRateError,
  InvalidNodeListError,
  InvalidPeriodsError,
  InvalidPolicyIdError,
  hashPolicyRecord,
  type CreatedPolicy,
  type PolicyState,
} from "../../../src/policy";

const KMS = 10n ** 18n;

function run<T = unknown>(task: string, args: Record<string, unknown> = {}): Promise<T> {
  return hre.run({ scope: "kms", task }, args) as Promise<T>;
}

/** The tasks wrap user-facing failures in a HardhatPluginError (one clear line); the cause is its parent. */
async function expectTaskError(promise: Promise<unknown>, type: new (...args: never[]) => Error, message?: RegExp) {
  const error = await promise.then(
    () => expect.fail("the task succeeded"),
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(HardhatPluginError);
  const parent = (error as HardhatPluginError).parent;
  expect(parent).to.be.instanceOf(type);
  if (message) expect((parent as Error).message).to.match(message);
}

/** An Umbral public key for the announcements (never used: these nodes run no daemon). */
const NODE_KEY = "0x02" + "11".repeat(32);

describe("policy tasks", function () {
  let snapshot: string;
  let log: typeof console.log;

  before(async function () {
    snapshot = await hre.network.provider.send("evm_snapshot", []);
    log = console.log;
    console.log = () => undefined;
    const { token, escrow, nodeDirectory } = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    // Three nodes (stakers 1..3, operators 4..6, announced: sampling reads the directory) and Alice (7), funded.
    for (let i = 1; i <= 3; i++) {
      await (await token.transfer(signers[i].address, 20_000n * KMS)).wait();
      await deposit(token, escrow, signers[i], 20_000n * KMS, 60n);
      await bondOperator(escrow, signers[i], signers[i + 3].address);
      await confirmOperator(escrow, signers[i + 3], signers[i].address);
      await (await nodeDirectory.connect(signers[i + 3]).announce(`http://127.0.0.1:${9150 + i}`, NODE_KEY)).wait();
      await commit(escrow, signers[i + 3]);
    }
    await (await token.transfer(signers[7].address, 1_000n * KMS)).wait();
    // Now each node is committed to the current period and not yet to the next, as active nodes mostly are.
    await advancePeriods(hre, escrow, 1n);
  });

  after(async function () {
    console.log = log;
    await hre.network.provider.send("evm_revert", [snapshot]);
  });

  it("creates a policy, shows it, pays the committing node and refunds the missed periods", async function () {
    const { token, escrow, policyManager } = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const [, n1, n2, , op1] = signers;
    const alice = signers[7];
    const created = await run<CreatedPolicy>("create-policy", {
      nodes: `${n2.address},${n1.address}`,
      periods: "4",
      feeRate: "0.5",
      from: alice.address,
    });
    expect(created.deposit).to.equal(4n * KMS);
    expect(created.record.owner).to.equal(alice.address);
    expect(await policyManager.policyCommitment(created.policyId)).to.equal(hashPolicyRecord(created.record));
    expect(await token.balanceOf(await policyManager.getAddress())).to.equal(4n * KMS);

    // Both nodes committed to the current period before the policy: credited at creation.
    let state = await run<PolicyState>("policy", { id: created.policyId });
    expect(state.status).to.equal("active");
    expect(state.nodes.map((n) => n.accrued)).to.deep.equal([KMS / 2n, KMS / 2n]);
    expect(state.held).to.equal(3n * KMS);

    // Node 1 keeps committing, node 2 stops.
    await commit(escrow, op1);
    await advancePeriods(hre, escrow, 1n);
    await commit(escrow, op1);
    await advancePeriods(hre, escrow, 1n);
    const fees = await run<bigint>("withdraw-fees", { from: n1.address });
    expect(fees).to.equal(3n * (KMS / 2n));
    // Settled now: periods start..start+2; node 2 missed start+1 and start+2.
    const refund = await run<bigint>("refund", { id: created.policyId, from: alice.address });
    expect(refund).to.equal(KMS);
    // (Hardhat's in-process network reports the revert as a plain error, a remote node as a CALL_EXCEPTION.)
    await expect(run("refund", { id: created.policyId, from: alice.address })).to.be.rejectedWith(
      /has nothing to refund now/,
    );

    state = await run<PolicyState>("policy", { id: created.policyId });
    expect(state.refunded).to.equal(KMS);
    const revoked = await run<bigint>("revoke-policy", { id: created.policyId, from: alice.address });
    // Only start+3 is after the current period (start+2): 2 nodes × 0.5 KMS.
    expect(revoked).to.equal(KMS);
    state = await run<PolicyState>("policy", { id: created.policyId });
    expect(state.status).to.equal("revoked");
    expect(state.held + state.refunded + state.nodes.reduce((s, n) => s + n.accrued, 0n)).to.equal(state.deposit);
  });

  it("samples nodes by stake and relays a signed revocation", async function () {
    const { token, escrow, policyManager } = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const alice = signers[7];
    const relayer = signers[8];
    // Sampling draws among nodes committed to the current or next period: make all three active again.
    await advancePeriods(hre, escrow, 1n);
    for (const operator of signers.slice(4, 7)) await commit(escrow, operator);
    const created = await run<CreatedPolicy>("create-policy", {
      sample: 2,
      seed: "0x01",
      periods: "3",
      feeRate: "0.1",
      from: alice.address,
    });
    expect(created.record.nodes).to.have.length(2);
    const stakers = signers.slice(1, 4).map((s) => s.address);
    for (const node of created.record.nodes) expect(stakers).to.include(node);
    const { signature, deadline } = await run<{ signature: string; deadline: bigint }>("sign-revocation", {
      id: created.policyId,
      from: alice.address,
    });
    const before = await token.balanceOf(alice.address);
    const refund = await run<bigint>("revoke-policy", {
      id: created.policyId,
      signature,
      deadline: deadline.toString(),
      from: relayer.address,
    });
    expect(refund).to.equal(2n * 2n * (KMS / 10n));
    expect(await token.balanceOf(alice.address)).to.equal(before + refund);
    expect(await policyManager.nonces(alice.address)).to.equal(1n);
  });

  it("sets a node's minimum fee rate as its operator", async function () {
    const { policyManager } = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    await run("set-min-fee-rate", { node: signers[1].address, rate: "0.25", from: signers[4].address });
    expect(await policyManager.minFeeRateOf(signers[1].address)).to.equal(KMS / 4n);
    await run("set-min-fee-rate", { rate: "0", from: signers[1].address });
    expect(await policyManager.minFeeRateOf(signers[1].address)).to.equal(0n);
  });

  it("rejects malformed input before sending anything", async function () {
    const signers = await hre.ethers.getSigners();
    const node = signers[1].address;
    await expectTaskError(run("create-policy", { nodes: node, periods: "0", feeRate: "1" }), InvalidPeriodsError);
    await expectTaskError(
      run("create-policy", { nodes: node, periods: "2", feeRate: "0.0000000001" }),
      InvalidFeeRateError,
      /9 decimals/,
    );
    await expectTaskError(run("create-policy", { nodes: "0x1234", periods: "2", feeRate: "1" }), InvalidNodeListError);
    await expectTaskError(
      run("create-policy", { nodes: `${node},${node}`, periods: "2", feeRate: "1" }),
      InvalidNodeListError,
      /twice/,
    );
    await expectTaskError(run("create-policy", { periods: "2", feeRate: "1" }), ArgumentError, /--nodes and --sample/);
    await expectTaskError(run("policy", { id: "0x1234" }), InvalidPolicyIdError);
  });
});
