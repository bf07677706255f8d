// The access-condition commands through hre.run on the in-process chain, with loopback nodes: kms grant
// --conditions (a bad file is one line and pays nothing), kms conditions --grant (each condition's verdict now,
// for a requester given with --as), kms retrieve-decrypt --account (Bob's SIWE proofs; refusals one line per
// node), and kms conditions --lift / --set replacing the set with a higher version.
import { expect } from "chai";
import hre from "hardhat";
import { HardhatPluginError } from "hardhat/plugins";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { UserError } from "../../src/cli/errors";
import type { ConditionsInspection } from "../../src/client/conditions";
import type { PolicyGrant } from "../../src/client/grant";
import { conditionsOf } from "../../src/policy";
import { erc721Owner, set } from "./fixtures";

const KMS = 10n ** 18n;

function run<T = unknown>(task: string, args: Record<string, unknown> = {}): Promise<T> {
  return hre.run({ scope: "kms", task }, args) as Promise<T>;
}

describe("access-condition tasks", function () {
  this.timeout(600_000);
  const dir = mkdtempSync(path.join(tmpdir(), "kms-conditions-"));
  const file = (name: string) => path.join(dir, name);
  let nodes: RunningNode[] = [];
  let printed: string[] = [];
  let log: typeof console.log;
  let nft: string;

  before(async function () {
    log = console.log;
    console.log = (...parts: unknown[]) => void printed.push(parts.join(" "));
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs = [0, 1].map((i) => ({
      staker: signers[1 + i],
      operator: signers[4 + i],
      stake: 100_000n * KMS,
      lockPeriods: 60n,
    }));
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    nodes = await startLocalNodes(deployment, specs);
    await (await deployment.token.transfer(signers[7].address, 1_000n * KMS)).wait();
    const contract = await hre.ethers.deployContract("ConditionNFT");
    await (await contract.mint(signers[8].address, 1)).wait();
    nft = await contract.getAddress();
    await run("keygen", { out: file("alice.key") });
    await run("keygen", { out: file("bob.key") });
    writeFileSync(file("gate.json"), JSON.stringify(set(erc721Owner(nft, 1)), null, 2));
    writeFileSync(file("bad.json"), '{ "version": "1.0.0", "condition": { "conditionType": "jwt" } }');
    writeFileSync(file("secret.txt"), "token-gated");
  });
  after(async function () {
    console.log = log;
    await Promise.all(nodes.map((n) => n.stop()));
  });
  beforeEach(() => (printed = []));

  const bobKey = async () => (await run<string>("pubkey", { key: file("bob.key") })).trim();
  const grantArgs = async (out: string, conditions: string) => ({
    aliceKey: file("alice.key"),
    bob: await bobKey(),
    threshold: 2,
    shares: 2,
    periods: "3",
    feeRate: "0.01",
    out: file(out),
    from: "#7",
    conditions: file(conditions),
  });

  it("kms grant --conditions refuses a bad file in one line before paying anything", async function () {
    const { token } = await loadDeployment(hre);
    const alice = (await hre.ethers.getSigners())[7].address;
    const before = await token.balanceOf(alice);
    const error = await run("grant", await grantArgs("bad-grant.json", "bad.json")).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HardhatPluginError);
    expect((error as HardhatPluginError).parent).to.be.instanceOf(UserError);
    expect((error as Error).message).to.match(
      /bad\.json: invalid conditions at \$\.condition\.conditionType: unknown condition type "jwt"/,
    );
    expect(await token.balanceOf(alice)).to.equal(before);
  });

  it("grants a token-gated file, shows and judges the conditions, lets the holder decrypt, then lifts them", async function () {
    const grant = await run<PolicyGrant>("grant", await grantArgs("grant.json", "gate.json"));
    expect(printed.some((l) => l.startsWith("access conditions: ERC721 "))).to.equal(true);
    expect(grant.conditions?.version).to.equal(1);
    await run("encrypt", { in: file("secret.txt"), out: file("secret.sealed"), grant: file("grant.json") });

    printed = [];
    const holder = await run<ConditionsInspection>("conditions", { grant: file("grant.json"), as: "#8" });
    expect(holder.bindingError).to.equal(undefined);
    expect(holder.conditions).to.have.length(1);
    expect(holder.conditions[0]).to.include({ path: "$.condition", verdict: "met" });
    expect(printed.join("\n")).to.match(/^met: \$\.condition ERC721 .*\n^a node would serve 0x/m);
    const other = await run<ConditionsInspection>("conditions", { grant: file("grant.json"), as: "#9" });
    expect(other.conditions[0].verdict).to.equal("not met");
    expect(other.decision).to.match(/403 CONDITION_NOT_MET/);
    const nobody = await run<ConditionsInspection>("conditions", { grant: file("grant.json") });
    expect(nobody.conditions[0].verdict).to.equal("cannot evaluate");

    await run("retrieve-decrypt", {
      grant: file("grant.json"),
      bobKey: file("bob.key"),
      in: file("secret.sealed"),
      out: file("secret.out"),
      account: "#8",
    });
    expect(readFileSync(file("secret.out"), "utf8")).to.equal("token-gated");

    printed = [];
    const refused = await run("retrieve-decrypt", {
      grant: file("grant.json"),
      bobKey: file("bob.key"),
      in: file("secret.sealed"),
      out: file("refused.out"),
      account: "#9",
    }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(Error);
    const lines = printed.filter((l) => /^node 0x[0-9a-fA-F]{40}: refused with 403 CONDITION_NOT_MET/.test(l));
    expect(lines).to.have.length(2);

    await run("conditions", { grant: file("grant.alice.json"), lift: true, from: "#7" });
    const { policyManager } = await loadDeployment(hre);
    expect(await conditionsOf(policyManager, grant.policyId)).to.include({ version: 2 });
    const lifted = await run<ConditionsInspection>("conditions", { grant: file("grant.json") });
    expect(lifted.decision).to.match(/lifts every condition/);
    await run("retrieve-decrypt", {
      grant: file("grant.json"),
      bobKey: file("bob.key"),
      in: file("secret.sealed"),
      out: file("lifted.out"),
    });
    expect(readFileSync(file("lifted.out"), "utf8")).to.equal("token-gated");

    await run("conditions", { grant: file("grant.alice.json"), set: file("gate.json"), from: "#7" });
    expect(await conditionsOf(policyManager, grant.policyId)).to.include({ version: 3 });
    const error = await run("conditions", {
      grant: file("grant.alice.json"),
      set: file("gate.json"),
      lift: true,
    }).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/--set <file> or --lift, not both/);
  });
});
