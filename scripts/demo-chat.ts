// `npm run demo:chat`: an encrypted chat room on an in-process chain, no set-up needed.
//
//   1. three nodes lock stake and start on loopback; a relay starts (it will only ever see ciphertext)
//   2. Alice creates a room and invites Bob and Carol: each gets his own 2-of-3 policy from the room key
//   3. Bob and Carol chat; Carol follows the relay's live stream
//   4. Dave joins later and reads the whole history (the room grants it: docs/chat.md)
//   5. Alice removes Carol: her policy is revoked on chain, the room key stays; Bob writes on, and the nodes
//      refuse Carol the new epoch
//   6. the relay's store is searched for every message's text: none is there
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "@noble/hashes/utils";
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { formatKms, parseKms } from "../src/units";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { SecretKey } from "../src/umbral";
import { startRelay } from "../src/chat/relay";
import {
  ChatRoom,
  createRoom,
  inviteMember,
  memberIdentity,
  ownerIdentity,
  removeMember,
  type ChatMessage,
} from "../src/chat";

const step = (title: string) => console.log(`\n== ${title}`);
const show = (who: string, m: ChatMessage) =>
  console.log(`  [${who} sees] ${m.authorName}: ${m.text ?? `✗ ${m.error?.message}`}`);

async function main(): Promise<void> {
  const contracts = await loadDeployment(hre);
  const signers = await hre.ethers.getSigners();
  const alice = signers[11];
  step("1. three nodes stake and start; a relay starts");
  const specs: LocalNodeSpec[] = Array.from({ length: 3 }, (_, i) => ({
    staker: signers[1 + i],
    operator: signers[6 + i],
    stake: parseKms(String(100_000 + 50_000 * i)),
    lockPeriods: 60n,
  }));
  for (const spec of specs) await stakeAndBond(contracts, signers[0], spec);
  const nodes = await startLocalNodes(contracts, specs);
  nodes.forEach((node, i) => console.log(`node ${i + 1}: staker ${node.staker}, ${node.url}`));
  const dataDir = mkdtempSync(path.join(tmpdir(), "kms-demo-chat-"));
  const relay = await startRelay({ dataDir });
  console.log(`relay: ${relay.url} (store ${dataDir})`);
  const said: string[] = [];

  try {
    step("2. Alice creates a room and invites Bob and Carol (a 2-of-3 policy each, from the room key)");
    await (await contracts.token.transfer(alice.address, parseKms("1000"))).wait();
    const keys = AliceKeys.fromSeed(randomBytes(32));
    const ref = await createRoom(relay.url, keys, { name: "project x", epochSeconds: 600 });
    console.log(`room ${ref.roomId} "${ref.name}", owner key ${ref.owner}`);
    const invite = async (name: string) => {
      const secret = SecretKey.random();
      const { grant, state } = await inviteMember(contracts, ref, keys, {
        owner: alice,
        member: secret.publicKey(),
        name,
        threshold: 2,
        shares: 3,
        periods: 10n,
        feeRate: parseKms("0.01"),
      });
      console.log(
        `${name}: policy ${grant.policyId} (${grant.threshold}-of-${grant.nodes.length}), ${state.members.length} member(s)`,
      );
      return { secret, room: new ChatRoom(ref, memberIdentity(secret)) };
    };
    const bob = await invite("bob");
    const carol = await invite("carol");

    step("3. Bob and Carol chat; Carol follows the relay's live stream");
    await carol.room.sync();
    const stop = new AbortController();
    const live = carol.room.follow(stop.signal)[Symbol.asyncIterator]();
    const say = async (who: { room: ChatRoom }, text: string) => {
      said.push(text);
      const start = performance.now();
      await who.room.send(text);
      return start;
    };
    for (const text of ["Carol, the launch is on Friday", "the key ceremony is at 10:00"]) {
      const start = await say(bob, text);
      const { value } = await live.next();
      show("carol", value!);
      console.log(`    (sent → decrypted by Carol in ${(performance.now() - start).toFixed(0)} ms)`);
    }
    stop.abort();
    await live.return?.(undefined);
    await say(carol, "noted, I'll bring the hardware tokens");
    for (const m of await bob.room.sync()) show("bob", m);

    step("4. Dave joins later and reads the whole history");
    const dave = await invite("dave");
    for (const m of await dave.room.sync()) show("dave", m);
    console.log(
      `  Dave opened ${dave.room.epochsOpened} epoch(s) through the nodes for ${dave.room.messages.length} messages`,
    );

    step("5. Alice removes Carol: her policy is revoked, the room key stays");
    const removal = await removeMember(contracts.policyManager, alice, ref, keys, carol.secret.publicKey());
    console.log(
      `revoked: ${removal.revoked}, ${formatKms(removal.refund)} KMS refunded to Alice; ${removal.state.members.length} member(s) left`,
    );
    await say(bob, "Carol has left; the new code word is 'heron'");
    for (const m of await dave.room.sync()) show("dave", m);
    for (const m of await carol.room.sync()) show("carol", m);
    const owner = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    await owner.sync();
    console.log(`  Alice (owner) reads all ${owner.messages.filter((m) => m.text).length} messages with the room key`);
    const refusedSend = await carol.room.send("can I still write?").catch((e: Error) => e.message);
    console.log(`  Carol tries to write: ${refusedSend}`);

    step("6. the relay's store holds no message text");
    let found = 0;
    let values = 0;
    for await (const value of relay.db.values()) {
      values++;
      for (const text of said) if (value.includes(text) || value.includes(Buffer.from(text).toString("hex"))) found++;
    }
    console.log(
      `${values} values in the relay's LevelDB, ${found} containing any of the ${said.length} messages' text`,
    );
    if (found) throw new Error("the relay holds plaintext");
  } finally {
    await relay.close();
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
