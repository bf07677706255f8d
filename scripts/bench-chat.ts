// `npm run bench:chat`: the chat's figures for docs/chat.md, on the deployed configuration (the Ignition
// module on Hardhat's in-process chain), three staked nodes on loopback in this process (2-of-3 policies),
// and a relay in a child process (`kms chat-relay`) so that its memory is its own.
//   1. latency end to end: one member sends, another follows the relay's event stream and decrypts; per-epoch
//      rooms (one capsule per 10 minutes) and per-message rooms (a capsule, so a cfrag retrieval, per message);
//   2. the cost of each: making an epoch (one Umbral encryption), opening one (a round trip to m nodes);
//   3. reading a history of 100 messages cold, both ways;
//   4. relay memory (RSS, heap) before and after 10,000 messages, and reading them all back.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "@noble/hashes/utils";
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { SecretKey } from "../src/umbral";
import { parseKms } from "../src/units";
import { ChatRoom, createRoom, inviteMember, makeEpoch, memberIdentity, ownerIdentity, RelayClient } from "../src/chat";

const LATENCY_MESSAGES = Number(process.env.CHAT_BENCH_MESSAGES ?? 40);
const HISTORY = 100;
const MEMORY_MESSAGES = Number(process.env.CHAT_BENCH_MEMORY_MESSAGES ?? 10_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const ms = (x: number) => `${x.toFixed(1)} ms`;
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;

/** Starts `kms chat-relay` in a child process; resolves with its URL and a stop function. */
async function relayProcess(dataDir: string) {
  const child = spawn(
    path.join(__dirname, "..", "node_modules", ".bin", "hardhat"),
    ["kms", "chat-relay", "--port", "0", "--data-dir", dataDir, "--posts-per-minute", "1000000"],
    { env: { ...process.env, KMS_EPHEMERAL: "1" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /chat relay on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`the relay exited (${code}): ${out}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGINT");
      }),
  };
}

async function main(): Promise<void> {
  const contracts = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const specs: LocalNodeSpec[] = Array.from({ length: 3 }, (_, i) => ({
    staker: signers[1 + i],
    operator: signers[6 + i],
    stake: parseKms("100000"),
    lockPeriods: 60n,
  }));
  for (const spec of specs) await stakeAndBond(contracts, signers[0], spec);
  const nodes = await startLocalNodes(contracts, specs);
  const alice = signers[11];
  await (await contracts.token.transfer(alice.address, parseKms("10000"))).wait();
  const work = mkdtempSync(path.join(tmpdir(), "kms-bench-chat-"));
  let relay: Awaited<ReturnType<typeof relayProcess>> | undefined;
  console.log(
    `conditions: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, in-process Hardhat chain ` +
      `(Ignition KMS module), 3 in-process nodes (main thread), 2-of-3 policies, relay in its own process on loopback`,
  );

  try {
    const { url } = (relay = await relayProcess(path.join(work, "relay")));
    const keys = AliceKeys.fromSeed(randomBytes(32));
    const rooms: Record<string, { room: ChatRoom; follower: ChatRoom; ref: Awaited<ReturnType<typeof createRoom>> }> =
      {};
    for (const [mode, epochSeconds] of [
      ["per-epoch", 600],
      ["per-message", 0],
    ] as const) {
      const ref = await createRoom(url, keys, { name: mode, epochSeconds });
      const members = [SecretKey.random(), SecretKey.random()];
      for (const [i, member] of members.entries()) {
        await inviteMember(contracts, ref, keys, {
          owner: alice,
          member: member.publicKey(),
          name: `m${i}`,
          threshold: 2,
          shares: 3,
          periods: 5n,
          feeRate: parseKms("0.01"),
        });
      }
      rooms[mode] = {
        ref,
        room: new ChatRoom(ref, memberIdentity(members[0])),
        follower: new ChatRoom(ref, memberIdentity(members[1])),
      };
    }

    console.log(`\n1. latency, send → the other member decrypted it (${LATENCY_MESSAGES} messages, one at a time)`);
    console.log("| capsule | median | p95 | cfrag retrievals by the reader |");
    console.log("| --- | --- | --- | --- |");
    const latency: Record<string, number> = {};
    for (const [mode, { room, follower }] of Object.entries(rooms)) {
      await room.sync();
      await follower.sync();
      const times: number[] = [];
      const stop = new AbortController();
      const arrivals = follower.follow(stop.signal)[Symbol.asyncIterator]();
      const before = follower.epochsOpened;
      for (let i = 0; i < LATENCY_MESSAGES; i++) {
        const start = performance.now();
        await room.send(`latency probe ${i}`);
        const { value } = await arrivals.next();
        if (value?.text !== `latency probe ${i}`) throw new Error(`message ${i} arrived as ${JSON.stringify(value)}`);
        times.push(performance.now() - start);
      }
      stop.abort();
      await arrivals.return?.(undefined);
      latency[mode] = median(times);
      console.log(`| ${mode} | ${ms(median(times))} | ${ms(p95(times))} | ${follower.epochsOpened - before} |`);
    }

    console.log("\n2. what a capsule costs");
    const { room } = rooms["per-epoch"];
    const makes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const start = performance.now();
      makeEpoch(room.state, room.identity);
      makes.push(performance.now() - start);
    }
    const opens: number[] = [];
    const epoch = [...room.log.epochs.values()][0];
    for (let i = 0; i < 20; i++) {
      const reader = new ChatRoom(rooms["per-epoch"].ref, room.identity);
      await reader.sync();
      const start = performance.now();
      await reader.identity.openEpoch(epoch, reader.log.state!, reader.log.state!);
      opens.push(performance.now() - start);
    }
    console.log(`making an epoch (Umbral encrypt + sign): median ${ms(median(makes))}`);
    console.log(
      `opening an epoch (cfrags from 2 of 3 nodes, verified, decrypted): median ${ms(median(opens))}, p95 ${ms(p95(opens))}`,
    );

    console.log(`\n3. reading a history of ${HISTORY} messages cold (a new session)`);
    for (const [mode, { ref, room: writer }] of Object.entries(rooms)) {
      for (let i = 0; i < HISTORY; i++) await writer.send(`history ${i}`);
      const reader = new ChatRoom(ref, writer.identity);
      const start = performance.now();
      await reader.sync();
      const took = performance.now() - start;
      console.log(`${mode}: ${reader.messages.length} messages in ${ms(took)}, ${reader.epochsOpened} epoch(s) opened`);
    }

    console.log(`\n4. relay memory for ${MEMORY_MESSAGES.toLocaleString("en")} messages (one room, the owner writing)`);
    const client = new RelayClient(url);
    type Status = { rssBytes: number; heapUsedBytes: number };
    const status = async () => (await (await fetch(`${url}/v1/status`)).json()) as Status;
    const before = await status();
    const ref = await createRoom(url, keys, { name: "memory", epochSeconds: 3600 });
    const owner = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    await owner.send("first");
    const [, epochLogged] = (await client.entries(ref.roomId)).entries;
    const epochId = (epochLogged.entry as { epochId: string }).epochId;
    const key = (owner as unknown as { keys: Map<string, Uint8Array> }).keys.get(epochId.toLowerCase())!;
    const { sealMessage } = await import("../src/chat");
    const start = performance.now();
    const text = "x".repeat(200);
    for (let i = 1; i < MEMORY_MESSAGES; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, MEMORY_MESSAGES - i) }, () =>
          client.post(ref.roomId, sealMessage({ roomId: ref.roomId, epochId, key }, owner.identity, text)),
        ),
      );
    }
    const posting = performance.now() - start;
    const after = await status();
    const readStart = performance.now();
    const reader = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    await reader.sync();
    const reading = performance.now() - readStart;
    const afterRead = await status();
    console.log(
      `200-character messages, posted 16 at a time: ${(MEMORY_MESSAGES / (posting / 1000)).toFixed(0)} messages/s`,
    );
    console.log(
      `relay RSS ${mib(before.rssBytes)} → ${mib(after.rssBytes)} after posting, ${mib(afterRead.rssBytes)} after a full read`,
    );
    console.log(
      `relay heap ${mib(before.heapUsedBytes)} → ${mib(after.heapUsedBytes)} → ${mib(afterRead.heapUsedBytes)}`,
    );
    console.log(`reading all ${reader.messages.length} back and decrypting (pages of 500): ${ms(reading)}`);
    console.log(
      `\nsummary: per-epoch latency ${ms(latency["per-epoch"])} vs per-message ${ms(latency["per-message"])}`,
    );
  } finally {
    await relay?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
