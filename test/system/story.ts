// The README's story as separate OS processes against a chain process: deploy with Ignition, three staked
// nodes as `npx hardhat kms node` processes (the operator bond confirmed by each node), Alice, Enrico and Bob
// through `kms grant`, `kms encrypt` and `kms retrieve-decrypt`, one node killed with SIGKILL and restarted
// from its data dir, one node cut off its chain (503 CHAIN_UNREACHABLE, "chain unreachable" in its log) and
// given it back, `/metrics` counters that moved, a second node for a live operator refused, `kms node-doctor`.
// The same story runs against each chain client (test/system/*.test.ts).
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { JsonRpcProvider, Signer } from "ethers";
import { bondOperator, deposit } from "../../src/staking";
import { createKeyFile, readSecretKeyFile } from "../../src/client/keys";
import type { NodeStatus } from "../../src/network/protocol";
import {
  eventually,
  freePort,
  Harness,
  Relay,
  startChain,
  type ChainClient,
  type ChainProcess,
  type Env,
  type Proc,
} from "./harness";

const KMS = 10n ** 18n;
const STAKERS = [1, 2, 3];
/** Operators are the stakers' accounts + 3 (#4–#6), Alice is #7, as in the README. */
const OPERATOR_OFFSET = 3;
const ALICE = 7;

/** One value of a Prometheus exposition, or 0 if the series is absent. */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The 24 words a node printed for its new key (rows of "  1 word      2 word …"). */
function recoveryPhrase(output: string): string {
  const rows = output.match(/^ +1 [a-z]+ .*$(\n^ +\d+ .*$){3}/m)?.[0] ?? "";
  return [...rows.matchAll(/\d+ ([a-z]+)/g)].map((m) => m[1]).join(" ");
}

interface RunningNodeProc {
  proc: Proc;
  url: string;
  dataDir: string;
  port: number;
  chainUrl: string;
  operator: string;
}

/** Defines the story's suite for `client`. */
export function systemStory(client: ChainClient, skip?: () => string | undefined): void {
  describe(`system: the story as OS processes on ${client.name}`, function () {
    // Bounded: each step below has its own deadline; this is the ceiling for a slow, shared machine.
    this.timeout(300_000);
    const harness = new Harness();
    const work = mkdtempSync(path.join(tmpdir(), "kms-system-"));
    let chain: ChainProcess | undefined;
    let chainUrl: string;
    let env: Env;
    let provider: JsonRpcProvider | undefined;
    let relay: Relay | undefined;
    const nodes: RunningNodeProc[] = [];
    /** What each node printed on its first start (its recovery phrase among it). */
    const originalOutputs: string[] = [];
    let startedAt = 0;
    const file = (name: string) => path.join(work, name);
    const net = ["--network", "chain"];

    before(async function () {
      const reason = skip?.();
      if (reason) {
        console.log(`      skipped: ${reason}`);
        this.skip();
      }
      startedAt = Date.now();
      chain = await startChain(harness, client);
      ({ url: chainUrl, env, provider } = chain);
    });

    after(async function () {
      await harness.close();
      await relay?.close();
      chain?.close();
      rmSync(work, { recursive: true, force: true });
      if (startedAt)
        console.log(`      ${client.name}: the story took ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    });

    /** The deployment's contracts as account #`index` sees them. */
    async function contractsAs(index: number) {
      const signer = await provider!.getSigner(index);
      return { signer, ...chain!.contracts(signer) };
    }

    /** Starts `kms node` for staker `i`'s operator; resolves once it listens. */
    async function startNodeProc(i: number, dataDir: string, port: number, nodeChainUrl: string) {
      const operator = `#${i + OPERATOR_OFFSET}`;
      const proc = harness.start(
        `node ${i}`,
        "npx",
        [
          "hardhat",
          "kms",
          "node",
          ...net,
          "--operator",
          operator,
          "--data-dir",
          dataDir,
          "--port",
          String(port),
          "--json-logs",
          "--commit-interval",
          "5",
          "--status-interval",
          "1",
        ],
        { ...env, KMS_CHAIN_URL: nodeChainUrl },
      );
      const [, url] = await proc.waitFor(/listening at (http:\/\/\S+) /, 180_000);
      return { proc, url, dataDir, port, chainUrl: nodeChainUrl, operator };
    }

    const status = async (node: RunningNodeProc) =>
      (await (await fetch(`${node.url}/v1/status`, { signal: AbortSignal.timeout(5_000) })).json()) as NodeStatus;
    const metricsOf = async (node: RunningNodeProc) =>
      (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    let policyId: string;
    /** A re-encryption request with a capsule that is no capsule: answered 400 once the policy checks pass. */
    const probe = (node: RunningNodeProc) =>
      fetch(`${node.url}/v1/policies/${policyId}/reencrypt`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ capsules: ["0x00"] }),
        signal: AbortSignal.timeout(10_000),
      });

    it("deploys with Ignition, stakes three nodes and starts them as `kms node` processes", async function () {
      await harness.hardhatOk(["ignition", "deploy", "ignition/modules/KMS.ts", ...net], env, 180_000);
      const { token, escrow } = await contractsAs(0);
      for (const i of STAKERS) {
        const staker = await provider!.getSigner(i);
        await (await token.transfer(staker.address, 20_000n * KMS)).wait();
        await deposit(token.connect(staker), escrow.connect(staker), staker, 20_000n * KMS, 60n);
        // The first step of bonding: the node confirms it with its own key when it starts.
        await bondOperator(escrow, staker as Signer, (await provider!.getSigner(i + OPERATOR_OFFSET)).address);
      }
      await (await token.transfer((await provider!.getSigner(ALICE)).address, 1_000n * KMS)).wait();

      relay = await Relay.open(Number(new URL(chainUrl).port));
      // Node 3 reaches the chain through the relay, which the outage step cuts.
      nodes.push(
        ...(await Promise.all(
          STAKERS.map(async (i) =>
            startNodeProc(i, file(`node${i}`), await freePort(), i === 3 ? relay!.url : chainUrl),
          ),
        )),
      );
      for (const [k, node] of nodes.entries()) {
        originalOutputs.push(node.proc.output);
        // A new data dir: the key's recovery phrase is shown once.
        expect(node.proc.output).to.include("NEW NODE KEY");
        expect(recoveryPhrase(node.proc.output).split(" "), `node ${k + 1}'s recovery phrase`).to.have.length(24);
        const s = await status(node);
        expect(s.operator).to.equal(await (await provider!.getSigner(STAKERS[k] + OPERATOR_OFFSET)).getAddress());
        expect((await escrow.getStakerInfo(s.staker)).operatorConfirmed).to.equal(true);
      }
      for (const node of nodes) {
        await eventually(
          `${node.url} committed to the next period`,
          async () => ((await status(node)).commitments?.nextCommittedPeriod ? true : undefined),
          30_000,
        );
      }
    });

    it("Alice grants 2-of-3, Enrico encrypts, Bob retrieves and decrypts, all through the CLI", async function () {
      createKeyFile(file("alice.key"));
      createKeyFile(file("bob.key"));
      const bob = Buffer.from(readSecretKeyFile(file("bob.key")).publicKey().toCompressedBytes()).toString("hex");
      writeFileSync(file("plain.bin"), randomBytes(300_000));
      // Amounts and flags exactly as the README has them.
      await harness.hardhatOk(
        [
          "kms",
          "grant",
          ...net,
          "--alice-key",
          file("alice.key"),
          "--bob",
          `0x${bob}`,
          "--threshold",
          "2",
          "--shares",
          "3",
          "--periods",
          "5",
          "--fee-rate",
          "0.01",
          "--from",
          `#${ALICE}`,
          "--out",
          file("grant.json"),
        ],
        env,
      );
      policyId = (JSON.parse(readFileSync(file("grant.json"), "utf8")) as { policyId: string }).policyId;
      for (const node of nodes) expect((await status(node)).kfrags).to.equal(1);
      await harness.hardhatOk(
        ["kms", "encrypt", ...net, "--grant", file("grant.json"), "--in", file("plain.bin"), "--out", file("sealed")],
        env,
      );
      await retrieve("out1.bin");
    });

    async function retrieve(out: string) {
      await harness.hardhatOk(
        [
          "kms",
          "retrieve-decrypt",
          ...net,
          "--grant",
          file("grant.json"),
          "--bob-key",
          file("bob.key"),
          "--in",
          file("sealed"),
          "--out",
          file(out),
        ],
        env,
      );
      expect(readFileSync(file(out)).equals(readFileSync(file("plain.bin")))).to.equal(true);
    }

    it("a node killed with SIGKILL restarts from its data dir with its key and kfrags", async function () {
      const [first] = nodes;
      const before = await status(first);
      first.proc.signal("SIGKILL");
      expect(await first.proc.exited).to.not.equal(0);
      await eventually(
        "node 1's processes to be gone",
        async () => (first.proc.groupAlive() ? undefined : true),
        10_000,
      );
      const restarted = await startNodeProc(STAKERS[0], first.dataDir, first.port, first.chainUrl);
      nodes[0] = restarted;
      const after = await status(restarted);
      expect(after.encryptingKey).to.equal(before.encryptingKey);
      expect(after.kfrags).to.equal(1);
      expect(after.lostKFrags).to.equal(0);
      expect(restarted.proc.output).to.not.include("NEW NODE KEY");
      // Same URL and key: nothing to announce again.
      expect(restarted.proc.output).to.not.include("announced in the NodeDirectory");
    });

    it("a node cut off its chain answers 503 with the reason and logs 'chain unreachable'; Bob still decrypts", async function () {
      const third = nodes[2];
      await relay!.cut();
      const refusal = await eventually(
        "node 3 to answer 503",
        async () => {
          const answer = await probe(third);
          return answer.status === 503 ? ((await answer.json()) as { code: string; error: string }) : undefined;
        },
        30_000,
      );
      expect(refusal.code).to.equal("CHAIN_UNREACHABLE");
      expect(refusal.error).to.match(/cannot reach its Ethereum RPC/);
      await third.proc.waitFor(/chain unreachable/, 10_000);
      expect((await status(third)).chain?.reachable).to.equal(false);
      // Two of three suffice: the restarted node and node 2.
      await retrieve("out2.bin");
    });

    it("the node serves again once its chain is back", async function () {
      const third = nodes[2];
      await relay!.restore();
      await third.proc.waitFor(/chain reachable again/, 30_000);
      await eventually(
        "node 3's status to show the chain",
        async () => ((await status(third)).chain?.reachable ? true : undefined),
        15_000,
      );
      await eventually(
        "node 3 to pass the policy checks again",
        async () => ((await probe(third)).status === 400 ? true : undefined),
        15_000,
      );
      expect(third.proc.output).to.not.match(/"msg":"internal error"/);
    });

    it("/metrics counters moved", async function () {
      const [first, second, third] = await Promise.all(nodes.map(metricsOf));
      // Bob asks 2 of the 3 nodes per retrieval (another for each that fails). The second retrieval needed the
      // restarted node and node 2; the first was served by two of the three, at most one of them node 1, whose
      // counters its restart reset: nodes 2 and 3 count at least one serving of it.
      const served = (text: string) => metric(text, 'kms_node_reencryption_requests_total{outcome="served"}');
      expect(served(first)).to.be.at.least(1);
      expect(served(second)).to.be.at.least(1);
      expect(served(second) + served(third)).to.be.at.least(2);
      expect(metric(second, "kms_node_cfrags_total")).to.be.at.least(1);
      expect(metric(second, 'kms_node_kfrag_deliveries_total{outcome="stored"}')).to.equal(1);
      expect(metric(second, "kms_node_commitments_sent_total")).to.equal(1);
      expect(metric(second, "kms_node_reencryption_duration_seconds_count")).to.be.at.least(1);
      expect(metric(third, 'kms_node_reencryption_requests_total{outcome="CHAIN_UNREACHABLE"}')).to.be.at.least(1);
      expect(metric(third, 'kms_node_reencryption_requests_total{outcome="BAD_CAPSULE"}')).to.be.at.least(1);
      const chainErrors = third
        .split("\n")
        .filter((l) => l.startsWith("kms_node_chain_errors_total{"))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
      expect(chainErrors).to.be.at.least(1);
      expect(metric(third, "kms_node_chain_reachable")).to.equal(1);
      expect(metric(first, "kms_node_operator_balance_ether")).to.be.greaterThan(0);
    });

    it("refuses a second `kms node` for a live operator, recovers its key from the phrase, and node-doctor finds it healthy", async function () {
      const second = nodes[1];
      const { nodeDirectory } = await contractsAs(0);
      const staker = (await status(second)).staker;
      const announced = await nodeDirectory.nodeOf(staker);
      const secondNode = async (dataDir: string, extra: string[], input?: string) =>
        harness.hardhat(
          [
            "kms",
            "node",
            ...net,
            "--operator",
            second.operator,
            "--data-dir",
            dataDir,
            "--port",
            String(await freePort()),
            ...extra,
          ],
          env,
          120_000,
          input,
        );
      const [refused, recovered, doctor] = await Promise.all([
        secondNode(file("node2-copy"), []),
        // The phrase on standard input rebuilds the announced key; the live node 2 still stands in the way.
        secondNode(file("node2-recovered"), ["--recover"], recoveryPhrase(originalOutputs[1]) + "\n"),
        harness.hardhat(["kms", "node-doctor", ...net, "--operator", second.operator], env),
      ]);
      expect(refused.code, refused.output).to.not.equal(0);
      expect(refused.output).to.match(/this data dir has no key/);
      expect(refused.output).to.not.include("NEW NODE KEY");
      expect(recovered.code, recovered.output).to.not.equal(0);
      expect(recovered.output).to.match(
        new RegExp(`another node of staker ${staker} is live at ${second.url}.*--take-over`),
      );
      expect(recovered.output).to.not.include("NEW NODE KEY");
      expect(readFileSync(path.join(file("node2-recovered"), "node.key"), "utf8")).to.equal(
        readFileSync(path.join(second.dataDir, "node.key"), "utf8"),
      );
      expect((await nodeDirectory.nodeOf(staker)).url).to.equal(announced.url);
      expect(doctor.code, doctor.output).to.equal(0);
      for (const check of ["chain", "clock", "bond", "lock", "gas", "commitment", "reachable", "key"]) {
        expect(doctor.output).to.match(new RegExp(`^ok +${check} `, "m"));
      }
    });

    it("nodes stop cleanly on SIGTERM", async function () {
      for (const node of nodes) await node.proc.stop(10_000);
      for (const node of nodes)
        expect(node.proc.output, node.proc.output.slice(-2000)).to.match(/"msg":"node stopped"/);
    });
  });
}
