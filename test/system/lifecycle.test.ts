// A policy's life as OS processes: `npx hardhat node`, five `kms node` processes (each reaching the chain through
// a relay of its own that the test can stall), and Alice's `kms grant`, `--resume`, `heal`, `extend` commands.
// - a node down before the grant is replaced by the next draw; nothing is paid for it;
// - `kill -9` of Alice between payment and delivery, then `kms grant --resume`: one payment, every kfrag;
// - `kill -9` of a node mid-delivery, restart, `--resume`: one payment, the node holds its kfrag;
// - a node that leaves after the grant: its slot healed, Bob decrypts files encrypted before and after;
// - `kms extend`: the added periods paid, the nodes serve past the old end;
// - bad inputs print one line.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { hexlify, type JsonRpcProvider, type Signer } from "ethers";
import { bondOperator, deposit, drawNodes, loadActiveNodes } from "../../src/staking";
import { policyDeposit, readPolicy } from "../../src/policy";
import { formatKms } from "../../src/units";
import { createKeyFile, readSecretKeyFile } from "../../src/client/keys";
import type { NodeStatus } from "../../src/network/protocol";
import { eventually, freePort, Harness, startChain, type ChainProcess, type Env, type Proc } from "./harness";

const KMS = 10n ** 18n;
const STAKERS = [1, 2, 3, 4, 5];
const OPERATOR_OFFSET = 5;
const ALICE = 11;
const FEE_RATE = 10n ** 16n; // 0.01 KMS

/**
 * A TCP relay to the chain that can stall: while stalled, new connections are held open and never forwarded (a
 * node's RPC calls hang, as on a dead link), existing ones are reset.
 */
class StallRelay {
  private stalled = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  private constructor(
    readonly port: number,
    target: number,
  ) {
    this.server = net.createServer((client) => this.track(client) && !this.stalled && this.forward(client, target));
  }

  static async open(target: number): Promise<StallRelay> {
    const relay = new StallRelay(await freePort(), target);
    await new Promise<void>((resolve) => relay.server.listen(relay.port, "127.0.0.1", resolve));
    return relay;
  }

  private track(socket: net.Socket): true {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return true;
  }

  private forward(client: net.Socket, target: number): void {
    const upstream = net.connect(target, "127.0.0.1");
    this.track(upstream);
    client.pipe(upstream).pipe(client);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private reset(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  stall(): void {
    this.stalled = true;
    this.reset();
  }

  restore(): void {
    this.stalled = false;
    this.reset();
  }

  close(): Promise<void> {
    this.reset();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface NodeProc {
  proc: Proc;
  url: string;
  dataDir: string;
  port: number;
  relay: StallRelay;
  staker: string;
}

describe("system: a policy's life as OS processes (grant, resume, heal, extend)", function () {
  this.timeout(900_000);
  const harness = new Harness();
  const work = mkdtempSync(path.join(tmpdir(), "kms-lifecycle-"));
  const file = (name: string) => path.join(work, name);
  const net_ = ["--network", "chain"];
  let chain: ChainProcess | undefined;
  let chainUrl: string;
  let env: Env;
  let provider: JsonRpcProvider | undefined;
  const nodes: NodeProc[] = [];
  let bobKey: string;

  before(async function () {
    chain = await startChain(harness);
    ({ url: chainUrl, env, provider } = chain);
  });

  after(async function () {
    await harness.close();
    await Promise.all(nodes.map((n) => n.relay.close()));
    chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const contracts = async () => chain!.contracts(await provider!.getSigner(0));
  const aliceBalance = async () =>
    (await contracts()).token.balanceOf(await (await provider!.getSigner(ALICE)).getAddress());

  async function startNodeProc(i: number, dataDir: string, port: number, relay: StallRelay): Promise<NodeProc> {
    const proc = harness.start(
      `node ${i}`,
      "npx",
      [
        "hardhat",
        "kms",
        "node",
        ...net_,
        "--operator",
        `#${i + OPERATOR_OFFSET}`,
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
      { ...env, KMS_CHAIN_URL: relay.url },
    );
    const [, url] = await proc.waitFor(/listening at (http:\/\/\S+) /, 180_000);
    const staker = await (await provider!.getSigner(i)).getAddress();
    return { proc, url, dataDir, port, relay, staker };
  }

  const status = async (node: NodeProc) =>
    (await (await fetch(`${node.url}/v1/status`, { signal: AbortSignal.timeout(5_000) })).json()) as NodeStatus;
  const byStaker = (staker: string) => nodes.find((n) => n.staker.toLowerCase() === staker.toLowerCase())!;
  const kms = (args: string[], ms?: number) => harness.hardhat(["kms", ...args, ...net_], env, ms);
  const kmsOk = (args: string[], ms?: number) => harness.hardhatOk(["kms", ...args, ...net_], env, ms);
  const grantArgs = (out: string, extra: string[] = []) => [
    "grant",
    "--alice-key",
    file("alice.key"),
    "--bob",
    bobKey,
    "--threshold",
    "2",
    "--shares",
    "3",
    "--periods",
    "6",
    "--fee-rate",
    "0.01",
    "--from",
    `#${ALICE}`,
    "--out",
    file(out),
    ...extra,
  ];
  const readJson = <T>(name: string) => JSON.parse(readFileSync(file(name), "utf8")) as T;
  const deposit3 = policyDeposit(FEE_RATE, 6n, 3);

  async function decrypt(grantFile: string, sealed: string, out: string, plain: string) {
    await kmsOk([
      "retrieve-decrypt",
      "--grant",
      file(grantFile),
      "--bob-key",
      file("bob.key"),
      "--in",
      file(sealed),
      "--out",
      file(out),
    ]);
    expect(readFileSync(file(out)).equals(readFileSync(file(plain)))).to.equal(true);
  }

  it("deploys, stakes five nodes and starts them as `kms node` processes", async function () {
    await harness.hardhatOk(["ignition", "deploy", "ignition/modules/KMS.ts", ...net_], env, 180_000);
    const { token, escrow } = await contracts();
    for (const i of STAKERS) {
      const staker = await provider!.getSigner(i);
      await (await token.transfer(staker.address, BigInt(20_000 + 1_000 * i) * KMS)).wait();
      await deposit(token.connect(staker), escrow.connect(staker), staker, BigInt(20_000 + 1_000 * i) * KMS, 60n);
      await bondOperator(escrow, staker as Signer, (await provider!.getSigner(i + OPERATOR_OFFSET)).address);
    }
    await (await token.transfer((await provider!.getSigner(ALICE)).address, 1_000n * KMS)).wait();
    const port = Number(new URL(chainUrl).port);
    nodes.push(
      ...(await Promise.all(
        STAKERS.map(async (i) => startNodeProc(i, file(`node${i}`), await freePort(), await StallRelay.open(port))),
      )),
    );
    for (const node of nodes) {
      await eventually(
        `${node.url} committed to the next period`,
        async () => ((await status(node)).commitments?.nextCommittedPeriod ? true : undefined),
        60_000,
      );
    }
    createKeyFile(file("alice.key"));
    createKeyFile(file("bob.key"));
    bobKey = hexlify(readSecretKeyFile(file("bob.key")).publicKey().toCompressedBytes());
    writeFileSync(file("plain1.bin"), randomBytes(50_000));
    writeFileSync(file("plain2.bin"), randomBytes(50_000));
  });

  let dead: NodeProc;
  it("a node down before the grant is replaced by the next draw; nothing is paid for it", async function () {
    const c = await contracts();
    const seed = randomBytes(32);
    const candidates = await loadActiveNodes(c, { lockedUntil: (await c.escrow.getCurrentPeriod()) + 6n });
    expect(candidates).to.have.length(5);
    const order = drawNodes(candidates, seed).take(5);
    dead = byStaker(order[0]);
    await dead.proc.stop();
    const before = await aliceBalance();
    const output = await kmsOk(grantArgs("g1.json", ["--seed", hexlify(seed)]));
    expect(output).to.include(`node ${dead.staker} not used: status not answered`);
    expect(output).to.match(/g1\.alice\.json is Alice's private journal/);
    expect(before - (await aliceBalance())).to.equal(deposit3);
    const grant = readJson<{ nodes: { staker: string }[]; policyId: string; version: number }>("g1.json");
    expect(grant.version).to.equal(2);
    expect(grant.nodes.map((n) => n.staker)).to.deep.equal(order.slice(1, 4));
    expect(statSync(file("g1.alice.json")).mode & 0o777).to.equal(0o600);
    const { record } = await readPolicy(c.policyManager, grant.policyId);
    expect(record.nodes.map((n) => n.toLowerCase())).to.not.include(dead.staker.toLowerCase());
    await kmsOk(["encrypt", "--grant", file("g1.json"), "--in", file("plain1.bin"), "--out", file("sealed1")]);
    await decrypt("g1.json", "sealed1", "out1.bin", "plain1.bin");
  });

  it("kill -9 of Alice between payment and delivery: kms grant --resume completes with exactly one payment", async function () {
    const live = nodes.filter((n) => n !== dead);
    // The nodes cannot reach the chain: deliveries hang in them, so Alice is surely killed before any completes.
    for (const node of live) node.relay.stall();
    const before = await aliceBalance();
    const alice = harness.start("kms grant", "npx", ["hardhat", "kms", ...grantArgs("g2.json"), ...net_], env);
    await alice.waitFor(/policy 0x[0-9a-f]{32} created, deposit/, 180_000);
    alice.signal("SIGKILL");
    await alice.exited;
    for (const node of live) node.relay.restore();
    expect(before - (await aliceBalance())).to.equal(deposit3);
    const journal = readJson<{ payment: { state: string }; deliveries: { acknowledged?: unknown }[] }>("g2.alice.json");
    expect(journal.payment.state).to.equal("paid");
    expect(journal.deliveries.filter((d) => d.acknowledged)).to.have.length(0);

    const output = await kmsOk(["grant", "--resume", file("g2.alice.json")]);
    expect(output).to.match(/resuming policy 0x[0-9a-f]{32}: payment paid, 0 of 3 kfrags acknowledged/);
    expect(output).to.match(/every node holds its kfrag/);
    expect(before - (await aliceBalance())).to.equal(deposit3);
    const grant = readJson<{ policyId: string; nodes: { staker: string }[] }>("g2.json");
    const c = await contracts();
    expect((await c.policyManager.queryFilter(c.policyManager.filters.PolicyCreated(grant.policyId))).length).to.equal(
      1,
    );
    const resumed = readJson<{ deliveries: { acknowledged?: unknown }[] }>("g2.alice.json");
    expect(resumed.deliveries.every((d) => d.acknowledged)).to.equal(true);
    for (const n of grant.nodes) expect((await status(byStaker(n.staker))).kfrags).to.be.at.least(1);
  });

  it("kill -9 of a node mid-delivery: the grant says how to finish; after the node's restart --resume completes", async function () {
    const live = nodes.filter((n) => n !== dead);
    const before = await aliceBalance();
    // Named nodes, so the victim is surely one of them; its chain link stalls, so its delivery hangs in it.
    const chosen = live.slice(0, 3);
    const victim = chosen[1];
    victim.relay.stall();
    const alice = harness.start(
      "kms grant",
      "npx",
      ["hardhat", "kms", ...grantArgs("g3.json", ["--nodes", chosen.map((n) => n.staker).join(",")]), ...net_],
      env,
    );
    // The victim's log since this grant started (it took a delivery of the last policy too).
    const mark = victim.proc.output.length;
    await eventually(
      "the victim to receive its delivery",
      async () => {
        if (!alice.running) throw new Error(`kms grant exited early:\n${alice.output.slice(-3000)}`);
        return /\/kfrag".*incoming request|incoming request.*\/kfrag/.test(victim.proc.output.slice(mark))
          ? true
          : undefined;
      },
      180_000,
    );
    victim.proc.signal("SIGKILL");
    await victim.proc.exited;
    expect(await alice.exited).to.equal(1);
    expect(alice.output).to.include(victim.staker);
    expect(alice.output).to.include(`kms grant --resume ${file("g3.alice.json")}`);
    expect(alice.output).to.not.match(/\n\s+at /);
    expect(before - (await aliceBalance())).to.equal(deposit3);

    victim.relay.restore();
    const restarted = await startNodeProc(STAKERS[nodes.indexOf(victim)], victim.dataDir, victim.port, victim.relay);
    nodes[nodes.indexOf(victim)] = restarted;
    const output = await kmsOk(["grant", "--resume", file("g3.alice.json")]);
    expect(output).to.match(/2 of 3 kfrags acknowledged/);
    expect(before - (await aliceBalance())).to.equal(deposit3);
    const journal = readJson<{ deliveries: { staker: string; acknowledged?: unknown }[] }>("g3.alice.json");
    expect(journal.deliveries.every((d) => d.acknowledged)).to.equal(true);
  });

  it("a node that leaves after the grant: kms heal moves its slot; Bob decrypts files encrypted before and after", async function () {
    const grant = readJson<{ policyId: string; nodes: { staker: string }[] }>("g1.json");
    const leaving = byStaker(grant.nodes[0].staker);
    await leaving.proc.stop();
    const output = await kmsOk([
      "heal",
      "--grant",
      file("g1.alice.json"),
      "--node",
      leaving.staker,
      "--alice-key",
      file("alice.key"),
      "--from",
      `#${ALICE}`,
    ]);
    const [, to] = output.match(/moved from 0x[0-9a-fA-F]{40} to (0x[0-9a-fA-F]{40})/)!;
    const healed = readJson<{ nodes: { staker: string }[] }>("g1.json");
    expect(healed.nodes.map((n) => n.staker))
      .to.include(to)
      .and.not.include(leaving.staker);
    const { record } = await readPolicy((await contracts()).policyManager, grant.policyId);
    expect(record.nodes).to.include(to);
    // The replacement's cfrag is needed: of the original nodes, only one is left running.
    await byStaker(healed.nodes.find((n) => n.staker !== to)!.staker).proc.stop();
    await kmsOk(["encrypt", "--grant", file("g1.json"), "--in", file("plain2.bin"), "--out", file("sealed2")]);
    await decrypt("g1.json", "sealed1", "out1-healed.bin", "plain1.bin");
    await decrypt("g1.json", "sealed2", "out2-healed.bin", "plain2.bin");
    // The stopped nodes come back (they serve the other policies).
    for (const [k, node] of nodes.entries()) {
      if (node !== dead && !node.proc.running)
        nodes[k] = await startNodeProc(STAKERS[k], node.dataDir, node.port, node.relay);
    }
  });

  it("kms extend: the added periods are paid, the nodes serve past the old end", async function () {
    const grant = readJson<{ policyId: string; endPeriod: string; nodes: { staker: string }[] }>("g2.json");
    for (const n of grant.nodes) expect(byStaker(n.staker).proc.running).to.equal(true);
    const before = await aliceBalance();
    const output = await kmsOk(["extend", "--grant", file("g2.alice.json"), "--periods", "3", "--from", `#${ALICE}`]);
    const fee = policyDeposit(FEE_RATE, 3n, 3);
    expect(output).to.include(`fee ${formatKms(fee)} KMS`);
    expect(before - (await aliceBalance())).to.equal(fee);
    const oldEnd = BigInt(grant.endPeriod);
    expect(readJson<{ endPeriod: string }>("g2.json").endPeriod).to.equal((oldEnd + 3n).toString());
    await kmsOk(["encrypt", "--grant", file("g2.json"), "--in", file("plain1.bin"), "--out", file("sealed3")]);
    const c = await contracts();
    const now = await c.escrow.getCurrentPeriod();
    // `kms advance-periods` serves only the hardhat/localhost networks; this chain has its own id, so the test
    // moves its clock over JSON-RPC to the start of the first period past the old end.
    expect(now).to.be.lessThanOrEqual(oldEnd);
    const duration = await c.escrow.periodDuration();
    await provider!.send("evm_setNextBlockTimestamp", [Number((oldEnd + 1n) * duration)]);
    await provider!.send("evm_mine", []);
    expect(await c.escrow.getCurrentPeriod()).to.be.greaterThan(oldEnd);
    await decrypt("g2.json", "sealed3", "out3.bin", "plain1.bin");
  });

  it("bad inputs print one line each", async function () {
    const cases: [string[], RegExp][] = [
      [["grant", "--resume", file("missing.alice.json")], /missing\.alice\.json: no such file or directory/],
      [["grant", "--resume", file("g1.json")], /is the public grant .* takes Alice's private journal/],
      [["grant", "--resume", file("plain1.bin")], /is not JSON, so not a grant journal/],
      [
        ["heal", "--grant", file("g2.alice.json"), "--node", `#${ALICE}`, "--alice-key", file("alice.key")],
        /is not one of the nodes of policy/,
      ],
      [
        [
          "retrieve-decrypt",
          "--grant",
          file("g2.alice.json"),
          "--bob-key",
          file("bob.key"),
          "--in",
          file("sealed3"),
          "--out",
          file("x"),
        ],
        /private grant journal, not the public grant/,
      ],
    ];
    await kmsOk(["revoke", "--grant", file("g3.alice.json"), "--from", `#${ALICE}`]);
    cases.push([["extend", "--grant", file("g3.alice.json"), "--periods", "2"], /was revoked/]);
    for (const [args, pattern] of cases) {
      const { code, output } = await kms(args);
      expect(code, output).to.equal(1);
      const errors = output.split("\n").filter((l) => l.startsWith("error: "));
      expect(errors, output).to.have.length(1);
      expect(errors[0], output).to.match(pattern);
      expect(output, output).to.not.match(/\n\s+at /);
    }
  });

  it("nodes stop cleanly", async function () {
    for (const node of nodes) await node.proc.stop(10_000);
  });
});
