// Bob against hostile nodes, on the in-process chain with real staked nodes on loopback and, in front of some
// of them, tiny HTTP servers playing the hostile part: a node relaying another node's genuine cfrag, one
// answering with a cfrag of another kfrag set, one signing a wrong cfrag with a throw-away key and naming it,
// one streaming a huge answer — and reports that fail. Which answers Bob sees first is fixed with a gate (the
// honest nodes behind it answer only once Bob has dealt with the hostile answers), never with timing.
import { expect } from "chai";
import hre from "hardhat";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "@noble/hashes/utils";
import { getBytes, hexlify, Wallet } from "ethers";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { corruptCFrag } from "../../src/node/fault";
import { AliceKeys } from "../../src/client/keys";
import { grant } from "../../src/client/alice";
import { encryptBytes, encryptFile } from "../../src/client/enrico-node";
import {
  decryptBytes,
  decryptFile,
  escrowOperatorCheck,
  NotEnoughCFragsError,
  type CheatingNode,
  type RetrieveOptions,
} from "../../src/client/bob-node";
import { publicKeyOf, type PolicyGrant } from "../../src/client/grant";
import type { ReencryptionRequest, ReencryptionResponse } from "../../src/network/protocol";
import {
  attestationDomainOf,
  readEvidenceFile,
  reportEvidence,
  signAttestation,
  type AttestationDomain,
  type AttestedCFrag,
} from "../../src/slashing";
import { Capsule, CapsuleFrag, generateKFrags, reencrypt, SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;
const MiB = 1024 * 1024;

/** An Ethereum key that is nobody's operator. */
type Signing = { address: string } & Parameters<typeof signAttestation>[0];

/** The node's attestation of a cfrag, made with any key: what a node signs (see src/node/server.ts). */
async function attest(signer: Signing, attested: AttestedCFrag, domain: AttestationDomain): Promise<string> {
  return hexlify(await signAttestation(signer, attested, domain));
}

/** A promise opened by hand: the honest nodes behind it answer once Bob has seen what the test wants first. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("Bob against hostile nodes", function () {
  this.timeout(300_000);

  let deployment: Deployment;
  let nodes: RunningNode[];
  let policy: PolicyGrant;
  let bobSk: SecretKey;
  let aliceKeys: AliceKeys;
  let reporter: Awaited<ReturnType<typeof hre.ethers.getSigners>>[number];
  const servers: Server[] = [];
  let workDir: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async function () {
    process.on("unhandledRejection", onUnhandled);
    deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = [];
    for (let i = 0; i < 5; i++) {
      // Node 4 cheats: every cfrag it returns is wrong and signed by its bonded operator.
      specs.push({
        staker: signers[1 + i],
        operator: signers[6 + i],
        stake: 100_000n * KMS,
        lockPeriods: 60n,
        cheat: i === 4,
      });
    }
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    nodes = await startLocalNodes(deployment, specs);
    const alice = signers[11];
    reporter = signers[12];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    bobSk = SecretKey.random();
    policy = await grant(deployment, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bobSk.publicKey(),
      threshold: 3,
      shares: 5,
      periods: 10n,
      feeRate: (await deployment.policyManager.feeRateRange())[0] || 1n,
    });
  });

  beforeEach(function () {
    workDir = mkdtempSync(path.join(tmpdir(), "kms-bob-"));
  });

  afterEach(async function () {
    await Promise.all(
      servers.splice(0).map((server) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        return closed;
      }),
    );
    rmSync(workDir, { recursive: true, force: true });
    // A report's failure must never escape as an unhandled rejection.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled, "unhandled rejections").to.deep.equal([]);
  });

  after(async function () {
    process.off("unhandledRejection", onUnhandled);
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  /** The node `i` of the local network. */
  const node = (i: number) => ({ staker: nodes[i].staker, url: nodes[i].url });

  /** A loopback server answering re-encryption requests with `handler`; returns its URL. */
  async function fakeNode(handler: (capsule: Capsule, req: IncomingMessage, res: ServerResponse) => Promise<void>) {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (part: Buffer) => parts.push(part));
      req.on("end", () => {
        const request = JSON.parse(Buffer.concat(parts).toString("utf8")) as ReencryptionRequest;
        const capsule = Capsule.fromBytes(getBytes(request.capsules[0]));
        handler(capsule, req, res).catch((error: Error) => res.destroy(error));
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Asks `target` for the cfrag of `capsule` on the path the client asked; returns its answer as it is. */
  async function relayTo(target: string, req: IncomingMessage, capsule: Capsule): Promise<ReencryptionResponse> {
    const response = await fetch(`${target}${req.url}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capsules: [hexlify(capsule.toBytes())] }),
    });
    return (await response.json()) as ReencryptionResponse;
  }

  function answer(res: ServerResponse, body: ReencryptionResponse): void {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  /** A node that forwards to node `i` once `wait` resolves. */
  function behind(i: number, wait: Promise<void>) {
    return fakeNode(async (capsule, req, res) => {
      await wait;
      answer(res, await relayTo(nodes[i].url, req, capsule));
    });
  }

  async function seal(text: string): Promise<Uint8Array> {
    return encryptBytes(publicKeyOf(policy.delegatingKey), new TextEncoder().encode(text));
  }

  /** Options that open `g` once Bob has dealt with `count` answers (counted or set aside). */
  function openAfter(count: number, g: ReturnType<typeof gate>, messages: string[] = []): RetrieveOptions {
    return {
      onProgress: (message) => {
        messages.push(message);
        if (messages.length >= count) g.open();
      },
    };
  }

  describe("item 1: cfrags are counted once per kfrag id, from one kfrag set", function () {
    for (const auditAll of [false, true]) {
      it(`a node relaying another node's genuine cfrag cannot make Bob fail${auditAll ? " (auditAll)" : ""}`, async function () {
        const g = gate();
        const messages: string[] = [];
        // Node 0's entry relays node 1's answer; nodes 2 and 3 answer after Bob saw both copies.
        const relay = await fakeNode(async (capsule, req, res) =>
          answer(res, await relayTo(nodes[1].url, req, capsule)),
        );
        const hostile: PolicyGrant = {
          ...policy,
          nodes: [
            { staker: nodes[0].staker, url: relay },
            node(1),
            { staker: nodes[2].staker, url: await behind(2, g.opened) },
            { staker: nodes[3].staker, url: await behind(3, g.opened) },
          ],
        };
        const opened = await decryptBytes(hostile, bobSk, await seal("relayed"), {
          auditAll,
          ...openAfter(2, g, messages),
        });
        expect(new TextDecoder().decode(opened)).to.equal("relayed");
        expect(messages.filter((m) => /not counted: repeats the kfrag id/.test(m))).to.have.length(1);
      });
    }

    it("with only m distinct kfrags behind m + 1 answers, fails as NotEnoughCFragsError naming the repeat", async function () {
      const relay = await fakeNode(async (capsule, req, res) => answer(res, await relayTo(nodes[1].url, req, capsule)));
      const hostile: PolicyGrant = { ...policy, nodes: [{ staker: nodes[0].staker, url: relay }, node(1), node(2)] };
      const error = await decryptBytes(hostile, bobSk, await seal("x"), { auditAll: true }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(NotEnoughCFragsError);
      expect((error as NotEnoughCFragsError).good).to.equal(2);
      expect((error as Error).message).to.match(/repeats the kfrag id of the cfrag from 0x/);
    });

    it("a genuine cfrag of another kfrag set of the policy is not combined with the others", async function () {
      // Alice made a second kfrag set for the same policy (e.g. a re-delivery): its cfrags verify too.
      const delegatingSk = aliceKeys.delegatingKey(policy.policyId);
      const otherSet = generateKFrags(delegatingSk, bobSk.publicKey(), aliceKeys.signer(), 3, 5, true, true);
      const stale = await fakeNode(async (capsule, _req, res) => {
        const cfrag = reencrypt(capsule, otherSet[0]);
        answer(res, { operator: nodes[0].operator, cfrags: [{ cfrag: hexlify(cfrag.toBytes()), signature: "0x" }] });
      });
      const g = gate();
      const hostile: PolicyGrant = {
        ...policy,
        nodes: [
          { staker: nodes[0].staker, url: stale },
          node(1),
          { staker: nodes[2].staker, url: await behind(2, g.opened) },
          { staker: nodes[3].staker, url: await behind(3, g.opened) },
        ],
      };
      const opened = await decryptBytes(hostile, bobSk, await seal("one set"), openAfter(2, g));
      expect(new TextDecoder().decode(opened)).to.equal("one set");
    });
  });

  describe("item 2: a report needs the chain's word, and never fails decryption", function () {
    /** A node (listed as node 0) returning node 0's cfrag corrupted, signed by `liar`, and naming `liar`. */
    function lyingNode(liar: Signing) {
      return fakeNode(async (capsule, req, res) => {
        const real = await relayTo(nodes[0].url, req, capsule);
        const wrong = corruptCFrag(CapsuleFrag.fromBytes(getBytes(real.cfrags[0].cfrag)));
        const signature = await attest(
          liar,
          {
            capsule: capsule.toBytesSimple(),
            cfrag: wrong.toBytesSimple(),
            delegatingKey: publicKeyOf(policy.delegatingKey).toCompressedBytes(),
            receivingKey: publicKeyOf(policy.receivingKey).toCompressedBytes(),
            verifyingKey: publicKeyOf(policy.verifyingKey).toCompressedBytes(),
          },
          await attestationDomainOf(deployment.adjudicator),
        );
        answer(res, { operator: liar.address, cfrags: [{ cfrag: hexlify(wrong.toBytes()), signature }] });
      });
    }

    const honest = () => [node(1), node(2), node(3)];

    it("a wrong cfrag signed by a throw-away key the node names is not reported once the chain says no", async function () {
      const liar = Wallet.createRandom();
      const hostile: PolicyGrant = {
        ...policy,
        nodes: [{ staker: nodes[0].staker, url: await lyingNode(liar) }, ...honest()],
      };
      const cheats: CheatingNode[] = [];
      const warnings: string[] = [];
      const opened = await decryptBytes(hostile, bobSk, await seal("not fooled"), {
        auditAll: true,
        isOperatorOf: escrowOperatorCheck(deployment.escrow),
        evidenceDir: workDir,
        onWarning: (m) => warnings.push(m),
        onCheat: async (cheat) => {
          cheats.push(cheat);
          await reportEvidence(deployment.adjudicator, reporter, cheat.evidence);
        },
      });
      expect(new TextDecoder().decode(opened)).to.equal("not fooled");
      expect(cheats).to.deep.equal([]);
      expect(warnings).to.deep.equal([]);
    });

    it("a report that reverts is printed and saved as an evidence file; Bob decrypts all the same", async function () {
      // Without the chain check Bob takes the node's word for its operator; the Adjudicator then refuses.
      const liar = Wallet.createRandom();
      const hostile: PolicyGrant = {
        ...policy,
        nodes: [{ staker: nodes[0].staker, url: await lyingNode(liar) }, ...honest()],
      };
      const warnings: string[] = [];
      const cheats: CheatingNode[] = [];
      const opened = await decryptBytes(hostile, bobSk, await seal("despite the report"), {
        auditAll: true,
        evidenceDir: workDir,
        onWarning: (m) => warnings.push(m),
        onCheat: async (cheat) => {
          cheats.push(cheat);
          await reportEvidence(deployment.adjudicator, reporter, cheat.evidence);
        },
      });
      expect(new TextDecoder().decode(opened)).to.equal("despite the report");
      expect(cheats.map((c) => c.operator)).to.deep.equal([liar.address]);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(
        /reporting 0x[0-9a-fA-F]{40} \(operator 0x[0-9a-fA-F]{40}\) failed: .*evidence saved to/,
      );
      const files = readdirSync(workDir);
      expect(files).to.have.length(1);
      const { evidence: saved } = readEvidenceFile(path.join(workDir, files[0]));
      expect(hexlify(saved.cfrag)).to.equal(hexlify(cheats[0].evidence.cfrag));
    });

    it("an onCheat that throws synchronously, for every node, is contained the same way", async function () {
      const hostile: PolicyGrant = {
        ...policy,
        nodes: [
          { staker: nodes[0].staker, url: await lyingNode(Wallet.createRandom()) },
          { staker: nodes[1].staker, url: await lyingNode(Wallet.createRandom()) },
          ...honest(),
        ],
      };
      const warnings: string[] = [];
      const opened = await decryptBytes(hostile, bobSk, await seal("contained"), {
        auditAll: true,
        evidenceDir: workDir,
        onWarning: (m) => warnings.push(m),
        onCheat: () => {
          throw new Error("no RPC today");
        },
      });
      expect(new TextDecoder().decode(opened)).to.equal("contained");
      expect(warnings).to.have.length(2);
      expect(warnings.every((w) => /failed: no RPC today/.test(w))).to.equal(true);
      expect(readdirSync(workDir)).to.have.length(2);
    });

    it("when the chain cannot be asked, a real cheater's evidence is saved, not reported, and Bob decrypts", async function () {
      const cheats: CheatingNode[] = [];
      const warnings: string[] = [];
      const opened = await decryptBytes({ ...policy, nodes: [node(4), ...honest()] }, bobSk, await seal("rpc down"), {
        auditAll: true,
        evidenceDir: workDir,
        onWarning: (m) => warnings.push(m),
        isOperatorOf: () => Promise.reject(new Error("connection refused")),
        onCheat: (cheat) => void cheats.push(cheat),
      });
      expect(new TextDecoder().decode(opened)).to.equal("rpc down");
      expect(cheats).to.deep.equal([]);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/could not check on chain .* connection refused; evidence saved to/);
      expect(readdirSync(workDir)).to.have.length(1);
    });

    it("a real cheater, confirmed by the escrow, is reported and slashed, with the recovered operator", async function () {
      const stakeBefore = await deployment.escrow.stakeOf(nodes[4].staker);
      const cheats: CheatingNode[] = [];
      const opened = await decryptBytes({ ...policy, nodes: [node(4), ...honest()] }, bobSk, await seal("slashed"), {
        auditAll: true,
        isOperatorOf: escrowOperatorCheck(deployment.escrow),
        onCheat: async (cheat) => {
          cheats.push(cheat);
          const outcome = await reportEvidence(deployment.adjudicator, reporter, cheat.evidence);
          expect(outcome.penalty).to.be.greaterThan(0n);
        },
      });
      expect(new TextDecoder().decode(opened)).to.equal("slashed");
      expect(cheats.map((c) => [c.staker, c.operator])).to.deep.equal([[nodes[4].staker, nodes[4].operator]]);
      expect(await deployment.escrow.stakeOf(nodes[4].staker)).to.be.lessThan(stakeBefore);
    });
  });

  describe("item 3: a huge answer costs Bob no more than the answer limit", function () {
    it("a node streaming 100 MiB is cut off early and Bob decrypts from the others", async function () {
      let sent: Promise<number> = Promise.resolve(0);
      const huge = await fakeNode(async (_capsule, _req, res) => {
        sent = new Promise<number>((resolve) => {
          const chunk = Buffer.alloc(64 * 1024, 0x61);
          let bytes = 0;
          res.on("close", () => resolve(bytes));
          res.writeHead(200, { "content-type": "application/json" });
          const pump = () => {
            while (bytes < 100 * MiB && !res.destroyed) {
              bytes += chunk.length;
              if (!res.write(chunk)) return void res.once("drain", pump);
            }
            res.end();
          };
          pump();
        });
      });
      const hostile: PolicyGrant = {
        ...policy,
        nodes: [{ staker: nodes[0].staker, url: huge }, node(1), node(2), node(3)],
      };
      const opened = await decryptBytes(hostile, bobSk, await seal("bounded"), { auditAll: true });
      expect(new TextDecoder().decode(opened)).to.equal("bounded");
      expect(await sent).to.be.lessThan(32 * MiB);
    });
  });

  describe("Bob asks m nodes first, another for each failure, the rest after the hedge delay", function () {
    /** A node that forwards to node `i` and counts the requests it got. */
    async function counted(i: number, asked: number[]) {
      return fakeNode(async (capsule, req, res) => {
        asked[i]++;
        answer(res, await relayTo(nodes[i].url, req, capsule));
      });
    }

    it("a healthy policy costs the network m re-encryptions, not n", async function () {
      const asked = [0, 0, 0, 0];
      const healthy: PolicyGrant = {
        ...policy,
        nodes: await Promise.all(
          [0, 1, 2, 3].map(async (i) => ({ staker: nodes[i].staker, url: await counted(i, asked) })),
        ),
      };
      const opened = await decryptBytes(healthy, bobSk, await seal("three of five"), { hedgeMs: 600_000 });
      expect(new TextDecoder().decode(opened)).to.equal("three of five");
      expect(asked.reduce((a, b) => a + b)).to.equal(3);
      expect(Math.max(...asked)).to.equal(1);
    });

    it("each node that fails is replaced at once by one not asked yet, whatever the order", async function () {
      const asked = [0, 0, 0, 0];
      let refused = 0;
      const failing = await fakeNode(async (_capsule, _req, res) => {
        refused++;
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "OVERLOADED", message: "busy" }));
      });
      const grantWithFailures: PolicyGrant = {
        ...policy,
        nodes: [
          { staker: nodes[3].staker, url: failing },
          { staker: nodes[4].staker, url: failing },
          ...(await Promise.all(
            [0, 1, 2].map(async (i) => ({ staker: nodes[i].staker, url: await counted(i, asked) })),
          )),
        ],
      };
      // No hedge within the test's time: whenever Bob's random first three include a failing node (9 orders in
      // 10), only its replacement can bring the third good node in; in every order each good node is asked once.
      const opened = await decryptBytes(grantWithFailures, bobSk, await seal("replaced"), { hedgeMs: 600_000 });
      expect(new TextDecoder().decode(opened)).to.equal("replaced");
      expect(refused).to.be.at.most(2);
      expect(asked).to.deep.equal([1, 1, 1, 0]);
    });

    it("nodes that never answer hold Bob back only until the hedge delay, then the others are asked", async function () {
      const silent = await fakeNode(() => new Promise<void>(() => undefined));
      const messages: string[] = [];
      const hedged: PolicyGrant = {
        ...policy,
        nodes: [
          { staker: nodes[3].staker, url: silent },
          { staker: nodes[4].staker, url: silent },
          node(0),
          node(1),
          node(2),
        ],
      };
      // The per-node deadline is far away: only the hedge can reach the good nodes behind the silent ones.
      const opened = await decryptBytes(hedged, bobSk, await seal("hedged"), {
        hedgeMs: 50,
        timeoutMs: 600_000,
        onProgress: (m) => messages.push(m),
      });
      expect(new TextDecoder().decode(opened)).to.equal("hedged");
      expect(messages.filter((m) => /^cfrag \d\/3 from/.test(m))).to.have.length(3);
    });

    /** A node refusing its first `busy` requests with 503 OVERLOADED and `Retry-After: wait`, then relaying node `i`. */
    async function busyThen(i: number, wait: string, busy = 1) {
      let requests = 0;
      const url = await fakeNode(async (capsule, req, res) => {
        if (requests++ < busy) {
          res.writeHead(503, { "content-type": "application/json", "retry-after": wait });
          res.end(JSON.stringify({ code: "OVERLOADED", error: "the node is at capacity" }));
          return;
        }
        answer(res, await relayTo(nodes[i].url, req, capsule));
      });
      return { url, requests: () => requests };
    }

    it("a busy node is asked once more after its Retry-After when Bob still needs it", async function () {
      const busy = await busyThen(0, "1");
      const messages: string[] = [];
      // All three nodes are needed: only the second request to the busy one can complete the set.
      const opened = await decryptBytes(
        { ...policy, nodes: [{ staker: nodes[0].staker, url: busy.url }, node(1), node(2)] },
        bobSk,
        await seal("after the wait"),
        { onProgress: (m) => messages.push(m) },
      );
      expect(new TextDecoder().decode(opened)).to.equal("after the wait");
      expect(busy.requests()).to.equal(2);
      expect(messages.some((m) => /is busy \(OVERLOADED\); asking it again in 1 s/.test(m))).to.equal(true);
    });

    it("a node busy again, or asking for more than 10 s, is not asked a third time: Bob fails naming it", async function () {
      for (const [wait, busyTimes, expected] of [
        ["1", 2, 2],
        ["3600", 1, 1],
      ] as const) {
        const busy = await busyThen(0, wait, busyTimes);
        const error = await decryptBytes(
          { ...policy, nodes: [{ staker: nodes[0].staker, url: busy.url }, node(1), node(2)] },
          bobSk,
          await seal("never"),
        ).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(NotEnoughCFragsError);
        expect((error as NotEnoughCFragsError).good).to.equal(2);
        expect((error as NotEnoughCFragsError).failures).to.have.length(1);
        expect((error as Error).message).to.match(/refused with 503 OVERLOADED: the node is at capacity/);
        expect(busy.requests()).to.equal(expected);
      }
    });

    it("hedgeMs 0 asks every node at once", async function () {
      const asked = [0, 0, 0, 0, 0];
      const all: PolicyGrant = {
        ...policy,
        nodes: await Promise.all(
          [0, 1, 2, 3].map(async (i) => ({ staker: nodes[i].staker, url: await counted(i, asked) })),
        ),
      };
      await decryptBytes(all, bobSk, await seal("all at once"), { hedgeMs: 0 });
      expect(asked.reduce((a, b) => a + b)).to.equal(4);
    });
  });

  describe("item 12: Bob's plaintext file", function () {
    it("is written 0600 whatever the umask, never through a planted link at a predictable partial path", async function () {
      const sealedPath = path.join(workDir, "file.sealed");
      const plainPath = path.join(workDir, "file.txt");
      const outPath = path.join(workDir, "file.out");
      const secret = path.join(workDir, "stolen");
      writeFileSync(plainPath, "for Bob only");
      await encryptFile(publicKeyOf(policy.delegatingKey), plainPath, sealedPath);
      // An attacker who can write the directory plants the old partial path as a link to a file of theirs.
      symlinkSync(secret, `${outPath}.partial`);
      const previous = process.umask(0o022);
      try {
        await decryptFile({ ...policy, nodes: [node(0), node(1), node(2)] }, bobSk, sealedPath, outPath);
      } finally {
        process.umask(previous);
      }
      expect(readFileSync(outPath, "utf8")).to.equal("for Bob only");
      expect(statSync(outPath).mode & 0o777).to.equal(0o600);
      expect(existsSync(secret)).to.equal(false);
      expect(lstatSync(`${outPath}.partial`).isSymbolicLink()).to.equal(true);
      expect(readdirSync(workDir).filter((f) => f.endsWith(".partial"))).to.deep.equal(["file.out.partial"]);
    });
  });
});
