// `kms chat …` through hre.run (as scripts call it): a room made, a member invited, messages sent and read,
// the member removed and refused, and bad input refused with one line each (a task run through hre.run
// throws a HardhatPluginError whose message is the line the command line prints after `error:`).
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { startRelay, type Relay } from "../../src/chat/relay";
import { MAX_MESSAGE_BYTES, type ChatMessage } from "../../src/chat";

const KMS = 10n ** 18n;

describe("kms chat", function () {
  this.timeout(300_000);
  let nodes: RunningNode[] = [];
  let relay: Relay & { url: string };
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  const chat = (args: Record<string, unknown>) => hre.run({ scope: "kms", task: "chat" }, args);
  const failure = (args: Record<string, unknown>) =>
    chat(args).then(
      () => expect.fail("the command succeeded"),
      (e: Error) => e.message,
    );

  before(async function () {
    const deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = Array.from({ length: 3 }, (_, i) => ({
      staker: signers[1 + i],
      operator: signers[6 + i],
      stake: 100_000n * KMS,
      lockPeriods: 60n,
    }));
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    nodes = await startLocalNodes(deployment, specs);
    dir = mkdtempSync(path.join(tmpdir(), "kms-chat-cli-"));
    relay = await startRelay({ dataDir: file("relay") });
    for (const name of ["alice.key", "bob.key"]) await hre.run({ scope: "kms", task: "keygen" }, { out: file(name) });
  });
  after(async function () {
    await Promise.all(nodes.map((n) => n.stop()));
    await relay?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("create, invite, send, read; remove, and the removed member is refused in one line", async function () {
    await chat({
      action: "create",
      relay: relay.url,
      name: "ops",
      aliceKey: file("alice.key"),
      out: file("room.json"),
    });
    const bob: string = await hre.run({ scope: "kms", task: "pubkey" }, { key: file("bob.key") });
    const invited = await chat({
      action: "invite",
      room: file("room.json"),
      aliceKey: file("alice.key"),
      member: bob,
      name: "bob",
      periods: "5",
      feeRate: "0.01",
    });
    expect(invited.receivingKey).to.equal(bob);
    await chat({ action: "send", room: file("room.json"), aliceKey: file("alice.key"), message: "welcome bob" });
    await chat({ action: "send", room: file("room.json"), key: file("bob.key"), message: "thanks" });
    const read: ChatMessage[] = await chat({ action: "read", room: file("room.json"), key: file("bob.key") });
    expect(read.map((m) => `${m.authorName}: ${m.text}`)).to.deep.equal(["owner: welcome bob", "bob: thanks"]);
    const followed: ChatMessage[] = await chat({
      action: "follow",
      room: file("room.json"),
      key: file("bob.key"),
      count: "2",
    });
    expect(followed.map((m) => m.text)).to.deep.equal(["welcome bob", "thanks"]);

    const members = await chat({ action: "members", room: file("room.json") });
    expect(members.map((m: { name: string }) => m.name)).to.deep.equal(["bob"]);
    await chat({ action: "remove", room: file("room.json"), aliceKey: file("alice.key"), member: bob });
    await chat({ action: "send", room: file("room.json"), aliceKey: file("alice.key"), message: "bob is gone" });
    const refused = await failure({ action: "read", room: file("room.json"), key: file("bob.key") });
    expect(refused).to.match(/^3 message\(s\) could not be opened: cannot open epoch 0x[0-9a-f]{32} of room/);
    expect(refused).to.not.include("\n");
    // A fresh session opens nothing any more: the nodes refuse his revoked policy for the old epochs too.
    expect(
      await failure({ action: "send", room: file("room.json"), key: file("bob.key"), message: "hello?" }),
    ).to.match(/is not a member of room 0x[0-9a-f]{32} \(removed, or never invited\)$/);
  });

  it("refuses bad input with one line", async function () {
    await chat({ action: "create", relay: relay.url, name: "x", aliceKey: file("alice.key"), out: file("x.json") });
    expect(await failure({ action: "shout" })).to.equal(
      'kms chat: unknown action "shout" (one of create, invite, remove, members, send, read, follow)',
    );
    expect(await failure({ action: "send", room: file("x.json"), aliceKey: file("alice.key") })).to.equal(
      "kms chat send needs --message",
    );
    expect(
      await failure({ action: "read", room: file("x.json"), message: "hi", aliceKey: file("alice.key") }),
    ).to.equal("kms chat read does not take --message");
    expect(await failure({ action: "read", room: file("x.json") })).to.match(
      /needs exactly one of --key .* and --alice-key/,
    );
    expect(
      await failure({
        action: "send",
        room: file("x.json"),
        aliceKey: file("alice.key"),
        message: "y".repeat(MAX_MESSAGE_BYTES + 1),
      }),
    ).to.equal(
      `the message is ${MAX_MESSAGE_BYTES + 1} bytes of UTF-8, more than the ${MAX_MESSAGE_BYTES} a chat message may hold`,
    );
    writeFileSync(
      file("unknown.json"),
      JSON.stringify({
        kind: "umbral-kms/chat-room",
        relay: relay.url,
        roomId: "0x" + "cd".repeat(16),
        owner: "0x",
        name: "?",
      }),
    );
    expect(await failure({ action: "read", room: file("unknown.json"), aliceKey: file("alice.key") })).to.equal(
      `the relay refused: this relay has no room 0x${"cd".repeat(16)}`,
    );
    expect(await failure({ action: "read", room: file("nope.json"), aliceKey: file("alice.key") })).to.equal(
      `no room file ${file("nope.json")}`,
    );
    expect(
      await failure({
        action: "create",
        relay: relay.url,
        name: "x",
        aliceKey: file("alice.key"),
        out: file("x.json"),
      }),
    ).to.match(/already exists; refusing to overwrite it/);
  });
});
