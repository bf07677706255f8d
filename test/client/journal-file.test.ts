// The grant journal on disk: written atomically with mode 0600, never replacing another grant's journal, and
// told apart from the public grant both ways (Bob's tools refuse the journal, --resume refuses the grant).
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hexlify } from "ethers";
import { FileJournalStore, GrantFileConflictError } from "../../src/client/journal-file";
import { GrantJournalFormatError, journalNameFor, parseJournal, type GrantJournal } from "../../src/client/journal";
import { GRANT_JOURNAL_KIND, GrantFormatError, parseGrant, type PolicyGrant } from "../../src/client/grant";
import { randomPolicyId } from "../../src/policy";
import { SecretKey } from "../../src/umbral";

const key = () => hexlify(SecretKey.random().publicKey().toCompressedBytes());
const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function journalOf(policyId = randomPolicyId()): GrantJournal {
  const grant: PolicyGrant = {
    version: 2,
    chainId: "31337",
    policyManager: address,
    policyId,
    owner: address,
    delegatingKey: key(),
    verifyingKey: key(),
    receivingKey: key(),
    threshold: 1,
    nodes: [{ staker: address, url: "http://127.0.0.1:1", encryptingKey: key() }],
    startPeriod: "1",
    endPeriod: "6",
  };
  return {
    kind: GRANT_JOURNAL_KIND,
    version: 1,
    grant,
    token: address,
    periods: "5",
    feeRate: "1",
    sharesIssued: 1,
    deliveries: [
      {
        staker: address,
        share: 0,
        encryptingKey: grant.nodes[0].encryptingKey!,
        version: 1,
        capsule: "0x00",
        ciphertext: "0x00",
        ownerSignature: "0x00",
        digest: "0x00",
      },
    ],
    payment: { state: "unpaid" },
    rejected: [],
  };
}

describe("grant journal files", function () {
  const dir = mkdtempSync(path.join(tmpdir(), "kms-journal-"));
  const at = (name: string) => path.join(dir, name);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("names the journal beside the grant", function () {
    expect(journalNameFor("grant.json")).to.equal("grant.alice.json");
    expect(journalNameFor("/x/my.grant")).to.equal("/x/my.grant.alice.json");
  });

  it("writes the journal with mode 0600 and the public grant beside it; leaves no temporary file", async function () {
    const journal = journalOf();
    const store = new FileJournalStore(at("a.alice.json"), at("a.json"));
    await store.save(journal);
    await store.publish(journal.grant);
    expect(statSync(at("a.alice.json")).mode & 0o777).to.equal(0o600);
    expect(parseGrant(readFileSync(at("a.json"), "utf8")).policyId).to.equal(journal.grant.policyId);
    const reopened = FileJournalStore.open(at("a.alice.json"));
    expect(reopened.journal.grant.policyId).to.equal(journal.grant.policyId);
    expect(reopened.store.publicFile).to.equal(at("a.json"));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
    // Saving the same grant again replaces it.
    journal.payment = { state: "paid" };
    await store.save(journal);
    expect(FileJournalStore.open(at("a.alice.json")).journal.payment.state).to.equal("paid");
  });

  it("never replaces another grant's journal, nor a file that is no journal", async function () {
    await new FileJournalStore(at("b.alice.json"), at("b.json")).save(journalOf());
    const other = new FileJournalStore(at("b.alice.json"), at("b2.json"));
    const error = await other.save(journalOf()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(GrantFileConflictError);
    expect((error as Error).message).to.match(/is the journal of another grant .* kms grant --resume/);
    writeFileSync(at("c.alice.json"), "notes\n");
    expect(() => new FileJournalStore(at("c.alice.json"), at("c.json")).checkWritable(randomPolicyId())).to.throw(
      GrantFileConflictError,
      /is not a grant journal/,
    );
    expect(readFileSync(at("c.alice.json"), "utf8")).to.equal("notes\n");
  });

  it("the journal and the public grant are told apart, each way with one sentence", function () {
    const journal = journalOf();
    expect(() => parseGrant(JSON.stringify(journal)))
      .to.throw(GrantFormatError)
      .with.property("message")
      .that.matches(/Alice's private grant journal, not the public grant/);
    expect(() => parseJournal(JSON.stringify(journal.grant), "g.json"))
      .to.throw(GrantJournalFormatError)
      .with.property("message")
      .that.matches(/g\.json is the public grant .* g\.alice\.json/);
    expect(() => parseJournal("{", "x")).to.throw(GrantJournalFormatError, /not JSON/);
    expect(() => parseJournal(JSON.stringify({ ...journal, deliveries: [] }), "x")).to.throw(
      GrantJournalFormatError,
      /damaged grant journal: its deliveries do not match its nodes/,
    );
  });

  it("version 1 grants still read; unknown versions say which are read", function () {
    const v1 = { ...journalOf().grant, version: 1 };
    expect(parseGrant(JSON.stringify(v1)).version).to.equal(1);
    expect(() => parseGrant(JSON.stringify({ ...v1, version: 3 }))).to.throw(GrantFormatError, /versions 1 and 2/);
  });
});
