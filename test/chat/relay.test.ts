// The relay on its own (no chain, no nodes: the room's owner reads with the room's secret key): it keeps
// only ciphertext and public metadata, refuses what it can tell is wrong (unknown room, forged or oversized
// entries, writers who are not members) with a clear answer, pages its history and streams new entries; and
// a member's client rejects what a hostile relay could serve (forged authors, altered ciphertext).
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "@noble/hashes/utils";
import { AliceKeys } from "../../src/client/keys";
import { SecretKey, Signer } from "../../src/umbral";
import { startRelay, type Relay } from "../../src/chat/relay";
import {
  ChatRoom,
  createRoom,
  keyHex,
  MAX_MESSAGE_BYTES,
  MessageTooLargeError,
  ownerIdentity,
  RelayClient,
  RelayRefusedError,
  sealMessage,
  signEntry,
  type LoggedEntry,
  type MessageEntry,
  type RoomRef,
} from "../../src/chat";

describe("chat relay", function () {
  this.timeout(60_000);
  let relay: Relay & { url: string };
  let dir: string;
  let keys: AliceKeys;
  let ref: RoomRef;
  let owner: ChatRoom;

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "kms-relay-"));
    relay = await startRelay({ dataDir: dir, postsPerMinute: 10_000 });
  });
  after(async function () {
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async function () {
    keys = AliceKeys.fromSeed(randomBytes(32));
    ref = await createRoom(relay.url, keys, { name: "lobby", epochSeconds: 600 });
    owner = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
  });

  it("stores only ciphertext and public metadata: no message text in any key or value, nor in its files", async function () {
    const secrets = ["the treasure is under the old oak tree", "zebra-quartz-4471 passphrase"];
    for (const text of secrets) await owner.send(text);
    const forms = secrets.flatMap((text) => {
      const bytes = Buffer.from(text, "utf8");
      return [text, bytes.toString("hex"), bytes.toString("base64"), text.slice(0, 12)];
    });
    let values = 0;
    for await (const [key, value] of relay.db.iterator()) {
      values++;
      for (const form of forms) {
        expect(key).to.not.include(form);
        expect(value.toLowerCase()).to.not.include(form.toLowerCase());
      }
    }
    expect(values).to.be.greaterThan(3);
    // The raw LevelDB files too (log and tables), after the relay wrote them.
    for (const file of readdirSync(dir)) {
      const raw = readFileSync(path.join(dir, file)).toString("latin1");
      for (const text of secrets) expect(raw).to.not.include(text.slice(0, 12));
    }
    // And the owner reads them back.
    const reader = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    expect((await reader.sync()).map((m) => m.text)).to.deep.equal(secrets);
  });

  it("pages the history and streams new entries live", async function () {
    for (let i = 0; i < 5; i++) await owner.send(`message ${i}`);
    const client = new RelayClient(relay.url);
    const page = await client.entries(ref.roomId, -1, 3);
    expect(page.entries.map((e) => e.seq)).to.deep.equal([0, 1, 2]);
    expect(page.head).to.equal(7); // state, epoch, 5 messages
    const next = await client.entries(ref.roomId, 2, 3);
    expect(next.entries.map((e) => e.seq)).to.deep.equal([3, 4, 5]);

    const follower = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    await follower.sync();
    const stop = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const message of follower.follow(stop.signal)) {
        seen.push(message.text!);
        if (seen.length === 2) stop.abort();
      }
    })();
    await owner.send("live one");
    await owner.send("live two");
    await following;
    expect(seen).to.deep.equal(["live one", "live two"]);
  });

  it("refuses an unknown room, a malformed room id and a bad page request with a clear answer", async function () {
    const client = new RelayClient(relay.url);
    const unknown = "0x" + "ab".repeat(16);
    const error = await client.room(unknown).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(RelayRefusedError);
    expect((error as RelayRefusedError).status).to.equal(404);
    expect((error as Error).message).to.equal(`the relay refused: this relay has no room ${unknown}`);
    const bad = await client.entries("nonsense").catch((e: unknown) => e);
    expect((bad as RelayRefusedError).code).to.equal("BAD_ROOM_ID");
    const response = await fetch(`${relay.url}/v1/rooms/${ref.roomId}/entries?limit=100000`);
    expect(response.status).to.equal(400);
    const second = await createRoom(relay.url, keys, { name: "x" }).then((r) => r.roomId);
    expect(second).to.not.equal(ref.roomId);
  });

  it("refuses an oversized message before sending, and the relay refuses one posted anyway", async function () {
    const error = await owner.send("x".repeat(MAX_MESSAGE_BYTES + 1)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MessageTooLargeError);
    expect((error as Error).message).to.equal(
      `the message is ${MAX_MESSAGE_BYTES + 1} bytes of UTF-8, more than the ${MAX_MESSAGE_BYTES} a chat message may hold`,
    );
    await owner.send("fine");
    const message = (await new RelayClient(relay.url).entries(ref.roomId)).entries.at(-1)!.entry as MessageEntry;
    const big = { ...message, ciphertext: "0x" + "00".repeat(MAX_MESSAGE_BYTES + 41) };
    const refused = await new RelayClient(relay.url).post(ref.roomId, big).catch((e: unknown) => e);
    expect((refused as RelayRefusedError).status).to.equal(400);
    expect((refused as Error).message).to.match(/more than the 8192 a chat message may hold/);
    const huge = await fetch(`${relay.url}/v1/rooms/${ref.roomId}/entries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(300 * 1024) }),
    });
    expect(huge.status).to.equal(413);
  });

  it("refuses a writer who is not a member, and a message whose signature is not its author's", async function () {
    await owner.send("hello");
    const client = new RelayClient(relay.url);
    const [, epoch] = (await client.entries(ref.roomId)).entries;
    const stranger = SecretKey.random();
    const { entry } = epoch as LoggedEntry & { entry: { epochId: string } };
    const key = owner["keys"].get(entry.epochId.toLowerCase())!;
    const strangerMessage = sealMessage(
      { roomId: ref.roomId, epochId: entry.epochId, key },
      { key: keyHex(stranger.publicKey()), signer: new Signer(stranger) },
      "let me in",
    );
    const refused = await client.post(ref.roomId, strangerMessage).catch((e: unknown) => e);
    expect((refused as RelayRefusedError).code).to.equal("FORBIDDEN");
    expect((refused as Error).message).to.include("is not a member of room");
    // Claiming to be the owner, signed by the stranger.
    const forged = sealMessage(
      { roomId: ref.roomId, epochId: entry.epochId, key },
      { key: ref.owner, signer: new Signer(stranger) },
      "I am the owner",
    );
    const refusedForged = await client.post(ref.roomId, forged).catch((e: unknown) => e);
    expect((refusedForged as RelayRefusedError).code).to.equal("FORBIDDEN");
    expect((refusedForged as Error).message).to.include("is not signed by its author");
    // A state not signed by the owner.
    const { state } = await client.room(ref.roomId);
    const fake = signEntry<typeof state>({ ...state, seq: state.seq + 1, name: "hijacked" }, new Signer(stranger));
    const refusedState = await client.post(ref.roomId, fake).catch((e: unknown) => e);
    expect((refusedState as RelayRefusedError).code).to.equal("FORBIDDEN");
  });

  it("a member's client rejects forged and altered entries a hostile relay might serve", async function () {
    await owner.send("genuine");
    const logged = (await new RelayClient(relay.url).entries(ref.roomId)).entries;
    const reader = new ChatRoom(ref, ownerIdentity(keys, ref.roomId));
    for (const entry of logged) await reader.apply(entry);
    expect(reader.messages.map((m) => m.text)).to.deep.equal(["genuine"]);
    const genuine = logged.at(-1)!.entry as MessageEntry;
    const stranger = SecretKey.random();

    // The relay rewrites the author (or the text) of a genuine message: its signature no longer holds.
    const flipped = genuine.ciphertext.slice(0, -2) + (genuine.ciphertext.endsWith("00") ? "01" : "00");
    await reader.apply({ seq: 10, receivedAt: 0, entry: { ...genuine, ciphertext: flipped } });
    await reader.apply({ seq: 11, receivedAt: 0, entry: { ...genuine, author: keyHex(stranger.publicKey()) } });
    expect(reader.rejected.map((r) => r.reason)).to.deep.equal([
      `message entry is not signed by its author (${genuine.author})`,
      `${keyHex(stranger.publicKey())} is not a member of room ${ref.roomId} at this point`,
    ]);
    // A writer signs a ciphertext that does not open under the epoch key: shown as altered, never as text.
    const { signature: _s, ...body } = { ...genuine, ciphertext: flipped };
    void _s;
    const signedAltered = signEntry<MessageEntry>(body, keys.signer());
    const altered = await reader.apply({ seq: 12, receivedAt: 0, entry: signedAltered });
    expect(altered?.text).to.equal(undefined);
    expect(altered?.error?.message).to.match(/does not decrypt: it was altered/);
    expect(reader.messages.filter((m) => m.text).map((m) => m.text)).to.deep.equal(["genuine"]);
  });

  it("one capsule per epoch, or per message when the room says 0 seconds", async function () {
    for (let i = 0; i < 4; i++) await owner.send(`epoch ${i}`);
    const perMessageRef = await createRoom(relay.url, keys, { name: "per-message", epochSeconds: 0 });
    const perMessage = new ChatRoom(perMessageRef, ownerIdentity(keys, perMessageRef.roomId));
    for (let i = 0; i < 4; i++) await perMessage.send(`message ${i}`);
    const count = async (roomId: string) =>
      (await new RelayClient(relay.url).entries(roomId)).entries.filter((e) => e.entry.type === "epoch").length;
    expect(await count(ref.roomId)).to.equal(1);
    expect(await count(perMessageRef.roomId)).to.equal(4);
    // An epoch older than the room's epoch length is not reused.
    let now = Date.now();
    const clocked = new ChatRoom(ref, ownerIdentity(keys, ref.roomId), { now: () => now });
    now += 601_000;
    await clocked.send("later");
    expect(await count(ref.roomId)).to.equal(2);
  });
});
