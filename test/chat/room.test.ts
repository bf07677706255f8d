// Members chatting through the policy nodes: an in-process chain, three staked nodes on loopback, a relay.
// Each member is a Bob with his own policy from the room key; he opens each epoch once through the nodes.
// Two members chat; a third who joins later reads the whole history the relay keeps (the documented rule:
// the room key grants every capsule under it); a removed member's policy is revoked, so the nodes refuse him
// every epoch made after his removal, and the relay and clients refuse his messages.
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "@noble/hashes/utils";
import { loadDeployment } from "../../src/deployment";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../../src/network/local";
import type { RunningNode } from "../../src/node/daemon";
import { AliceKeys } from "../../src/client/keys";
import { SecretKey } from "../../src/umbral";
import { readPolicy } from "../../src/policy";
import { startRelay, type Relay } from "../../src/chat/relay";
import {
  ChatRoom,
  createRoom,
  ChatEpochRefusedError,
  inviteMember,
  keyHex,
  memberIdentity,
  NotAMemberError,
  ownerIdentity,
  removeMember,
  RelayRefusedError,
  sealMessage,
  type RoomRef,
} from "../../src/chat";

const KMS = 10n ** 18n;

describe("chat rooms through the policy nodes", function () {
  this.timeout(300_000);
  let nodes: RunningNode[] = [];
  let relay: Relay & { url: string };
  let dir: string;
  let deployment: Awaited<ReturnType<typeof loadDeployment>>;
  let alice: Awaited<ReturnType<typeof hre.ethers.getSigners>>[number];
  let feeRate: bigint;

  before(async function () {
    deployment = await loadDeployment(hre);
    const signers = await hre.ethers.getSigners();
    const specs: LocalNodeSpec[] = Array.from({ length: 3 }, (_, i) => ({
      staker: signers[1 + i],
      operator: signers[6 + i],
      stake: BigInt(100_000 + 10_000 * i) * KMS,
      lockPeriods: 60n,
    }));
    for (const spec of specs) await stakeAndBond(deployment, signers[0], spec);
    nodes = await startLocalNodes(deployment, specs);
    alice = signers[11];
    await (await deployment.token.transfer(alice.address, 1_000_000n * KMS)).wait();
    feeRate = (await deployment.policyManager.feeRateRange())[0] || 1n;
    dir = mkdtempSync(path.join(tmpdir(), "kms-relay-"));
    relay = await startRelay({ dataDir: dir });
  });
  after(async function () {
    await Promise.all(nodes.map((n) => n.stop()));
    await relay?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function room() {
    const keys = AliceKeys.fromSeed(randomBytes(32));
    const ref: RoomRef = await createRoom(relay.url, keys, { name: "team", epochSeconds: 600 });
    const invite = async (name: string) => {
      const secret = SecretKey.random();
      const { grant } = await inviteMember(deployment, ref, keys, {
        owner: alice,
        member: secret.publicKey(),
        name,
        threshold: 2,
        shares: 3,
        periods: 5n,
        feeRate,
      });
      return { secret, grant, session: () => new ChatRoom(ref, memberIdentity(secret)) };
    };
    return { keys, ref, invite, owner: new ChatRoom(ref, ownerIdentity(keys, ref.roomId)) };
  }
  const texts = (room: ChatRoom) =>
    room.messages.map((m) => (m.text !== undefined ? `${m.authorName}: ${m.text}` : `${m.authorName}: ✗`));

  it("two members chat: each reads the other's messages, verified as his, opening the epoch once", async function () {
    const r = await room();
    const bob = await r.invite("bob");
    const carol = await r.invite("carol");
    const bobRoom = bob.session();
    const carolRoom = carol.session();
    await bobRoom.send("hi carol");
    await carolRoom.send("hi bob");
    await bobRoom.send("how are you?");
    await bobRoom.sync();
    await carolRoom.sync();
    const expected = ["bob: hi carol", "carol: hi bob", "bob: how are you?"];
    expect(texts(bobRoom)).to.deep.equal(expected);
    expect(texts(carolRoom)).to.deep.equal(expected);
    expect(carolRoom.messages[0].author).to.equal(keyHex(bob.secret.publicKey()));
    // One epoch for the three messages: bob made it (no retrieval), carol opened it once through the nodes.
    expect(new Set(carolRoom.messages.map((m) => m.epochId)).size).to.equal(1);
    expect(carolRoom.epochsOpened).to.equal(1);
    // The owner reads with the room's secret key.
    await r.owner.sync();
    expect(texts(r.owner)).to.deep.equal(expected);
  });

  it("a member who joins later reads the whole history the relay keeps; his join starts a new epoch", async function () {
    const r = await room();
    const bob = await r.invite("bob");
    const bobRoom = bob.session();
    await bobRoom.send("before dave");
    const dave = await r.invite("dave");
    await bobRoom.send("after dave joined");
    const daveRoom = dave.session();
    await daveRoom.sync();
    expect(texts(daveRoom)).to.deep.equal(["bob: before dave", "bob: after dave joined"]);
    const epochs = new Set(daveRoom.messages.map((m) => m.epochId));
    expect(epochs.size).to.equal(2);
    expect(daveRoom.epochsOpened).to.equal(2);
  });

  it("a removed member cannot open messages sent after his removal, nor write; the others go on", async function () {
    const r = await room();
    const bob = await r.invite("bob");
    const carol = await r.invite("carol");
    const bobRoom = bob.session();
    const carolRoom = carol.session();
    await bobRoom.send("while carol is here");
    await carolRoom.sync();
    expect(texts(carolRoom)).to.deep.equal(["bob: while carol is here"]);

    const removal = await removeMember(deployment.policyManager, alice, r.ref, r.keys, carol.secret.publicKey());
    expect(removal.revoked).to.equal(true);
    expect(removal.refund).to.be.greaterThan(0n);
    expect((await readPolicy(deployment.policyManager, carol.grant.policyId)).revoked).to.equal(true);
    await bobRoom.send("after carol left");

    // Carol's session still shows what she opened before; the new epoch is refused by the nodes.
    const [after] = await carolRoom.sync();
    expect(after.text).to.equal(undefined);
    expect(after.error).to.be.instanceOf(ChatEpochRefusedError);
    expect(after.error!.message).to.match(
      /^cannot open epoch 0x[0-9a-f]{32} of room 0x[0-9a-f]{32}: .*is not a member of the room now and was not when the epoch was made \(removed, or never invited\)$/,
    );
    expect(texts(carolRoom)).to.deep.equal(["bob: while carol is here", "bob: ✗"]);
    // Even with her old grant (as if she kept it), the nodes refuse her revoked policy.
    const withOldGrant = new ChatRoom(r.ref, {
      ...memberIdentity(carol.secret),
      openEpoch: (epoch, state, current) =>
        memberIdentity(carol.secret).openEpoch(epoch, state, {
          ...current,
          members: [...current.members, { key: keyHex(carol.secret.publicKey()), name: "carol", grant: carol.grant }],
        }),
    });
    const refused = (await withOldGrant.sync()).at(-1)!;
    expect(refused.error).to.be.instanceOf(ChatEpochRefusedError);
    expect(refused.error!.message).to.match(/the nodes refuse your policy: you were removed from the room/);
    expect(refused.error!.message).to.match(/was revoked/);

    // She can no longer write: her client says so, and the relay refuses her entries.
    const send = await carolRoom.send("am I still here?").catch((e: unknown) => e);
    expect(send).to.be.instanceOf(NotAMemberError);
    expect((send as Error).message).to.match(/is not a member of room .* \(removed, or never invited\)/);
    const epoch = [...bobRoom.log.epochs.values()].at(-1)!;
    const forged = sealMessage(
      { roomId: r.ref.roomId, epochId: epoch.epochId, key: randomBytes(32) },
      { key: keyHex(carol.secret.publicKey()), signer: memberIdentity(carol.secret).signer },
      "sneaking in",
    );
    const posted = await bobRoom.relay.post(r.ref.roomId, forged).catch((e: unknown) => e);
    expect(posted).to.be.instanceOf(RelayRefusedError);
    expect((posted as RelayRefusedError).status).to.equal(403);

    // Bob reads everything.
    await bobRoom.sync();
    expect(texts(bobRoom)).to.deep.equal(["bob: while carol is here", "bob: after carol left"]);
    // Removing her twice is a clear error.
    const twice = await removeMember(deployment.policyManager, alice, r.ref, r.keys, carol.secret.publicKey()).catch(
      (e: unknown) => e,
    );
    expect(twice).to.be.instanceOf(NotAMemberError);
  });
});
