// `kms report --evidence file.json`, run through hre.run on the in-process chain against the Ignition
// deployment; evidence files written by src/slashing.
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDeployment } from "../../../src/deployment";
import { DEFAULT_BASE_PENALTY, DEFAULT_MIN_LOCK_PERIODS, DEFAULT_MIN_STAKE } from "../../../ignition/modules/KMS";
import {
  attestationDomainOf,
  EvidenceFileError,
  EvidenceFormatError,
  evidenceFromJson,
  evidenceToJson,
  readEvidenceFile,
  writeEvidenceFile,
  type ReportOutcome,
} from "../../../src/slashing";
import { CHEATS, attested, ourScenario, signAsNode } from "./helpers";

function run<T = unknown>(task: string, args: Record<string, unknown> = {}): Promise<T> {
  return hre.run({ scope: "kms", task }, args) as Promise<T>;
}

describe("slashing task and evidence files", function () {
  let snapshot: string;
  let log: typeof console.log;
  const dir = mkdtempSync(path.join(tmpdir(), "kms-evidence-"));

  before(async function () {
    snapshot = await hre.network.provider.send("evm_snapshot", []);
    log = console.log;
    console.log = () => undefined;
  });

  after(async function () {
    console.log = log;
    await hre.network.provider.send("evm_revert", [snapshot]);
  });

  it("round-trips a signed cfrag through a JSON file and rejects malformed files", async function () {
    const [, , operator] = await hre.ethers.getSigners();
    const domain = { chainId: 31337n, adjudicator: "0x000000000000000000000000000000000000dEaD" };
    const signed = await signAsNode(operator, attested(ourScenario()), domain);
    const file = path.join(dir, "roundtrip.json");
    writeEvidenceFile(file, { evidence: signed, domain });
    expect(readEvidenceFile(file)).to.deep.equal({ evidence: signed, domain });
    const json = JSON.parse(evidenceToJson({ evidence: signed, domain })) as Record<string, unknown>;
    expect(() => evidenceFromJson("{")).to.throw(EvidenceFileError, /not JSON/);
    expect(() => evidenceFromJson(JSON.stringify({ version: 1, policyId: "0x01" }))).to.throw(
      EvidenceFileError,
      /not an evidence file: it has no cfrag or node signature/,
    );
    expect(() => evidenceFromJson(JSON.stringify({ ...json, version: 3 }))).to.throw(EvidenceFileError, /version 3/);
    expect(() => evidenceFromJson(JSON.stringify({ ...json, version: 1 }))).to.throw(
      EvidenceFileError,
      /version 1 holds a node signature from before attestations were bound to a deployment/,
    );
    expect(() => evidenceFromJson(JSON.stringify({ ...json, chainId: 5 }))).to.throw(EvidenceFileError, /chainId/);
    expect(() => evidenceFromJson(JSON.stringify({ ...json, adjudicator: "0x12" }))).to.throw(
      EvidenceFileError,
      /adjudicator/,
    );
    expect(() => evidenceFromJson(JSON.stringify({ ...json, cfrag: "zz" }))).to.throw(EvidenceFileError, /cfrag/);
    expect(() => evidenceFromJson(JSON.stringify({ ...json, capsule: "0x00" }))).to.throw(
      EvidenceFormatError,
      "capsule: expected 98 bytes, got 1",
    );
    expect(() => readEvidenceFile(path.join(dir, "missing.json"))).to.throw(EvidenceFileError, /cannot read/);
  });

  it("reports a correct cfrag (no penalty) and a cheat (slashed) from evidence files", async function () {
    const { token, escrow, adjudicator } = await loadDeployment(hre);
    const domain = await attestationDomainOf(adjudicator);
    const [deployer, staker, operator, reporter] = await hre.ethers.getSigners();
    await (await token.connect(deployer).transfer(staker.address, DEFAULT_MIN_STAKE)).wait();
    await (await token.connect(staker).approve(await escrow.getAddress(), DEFAULT_MIN_STAKE)).wait();
    await (await escrow.connect(staker).depositAndLock(DEFAULT_MIN_STAKE, DEFAULT_MIN_LOCK_PERIODS)).wait();
    await (await escrow.connect(staker).bondOperator(operator.address)).wait();
    await (await escrow.connect(operator).confirmOperator(staker.address)).wait();

    const s = ourScenario();
    const honestFile = path.join(dir, "honest.json");
    writeEvidenceFile(honestFile, { evidence: await signAsNode(operator, attested(s), domain), domain });
    const honest = await run<ReportOutcome>("report", { evidence: honestFile, from: reporter.address });
    expect(honest.verdictName).to.equal("Correct");
    expect(honest.staker).to.equal(staker.address);
    expect(honest.penalty).to.equal(0n);

    const cheatFile = path.join(dir, "cheat.json");
    const { cfrag } = CHEATS["a random z"].make(s);
    writeFileSync(
      cheatFile,
      evidenceToJson({ evidence: await signAsNode(operator, attested(s, cfrag), domain), domain }),
    );
    const cheat = await run<ReportOutcome>("report", { evidence: cheatFile, from: reporter.address });
    expect(cheat.verdictName).to.equal("EEquationFailed");
    expect(cheat.penalty).to.equal(DEFAULT_BASE_PENALTY);
    expect(cheat.offences).to.equal(1n);
    expect(await escrow.stakeOf(staker.address)).to.equal(DEFAULT_MIN_STAKE - DEFAULT_BASE_PENALTY);

    // Evidence signed for another deployment (here: another chain) is refused before anything is sent.
    const elsewhere = { ...domain, chainId: domain.chainId + 1n };
    const foreignFile = path.join(dir, "foreign.json");
    writeEvidenceFile(foreignFile, {
      evidence: await signAsNode(operator, attested(s, CHEATS["a random z"].make(s).cfrag), elsewhere),
      domain: elsewhere,
    });
    const before = await escrow.stakeOf(staker.address);
    await expect(run("report", { evidence: foreignFile, from: reporter.address })).to.be.rejectedWith(
      /signed for the Adjudicator .* on chain 31338; the connected deployment is .* on chain 31337/,
    );
    expect(await escrow.stakeOf(staker.address)).to.equal(before);
  });
});
