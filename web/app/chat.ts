// The chat page: rooms this browser owns or was invited to (kept in IndexedDB), a room's messages (read from
// the relay and followed live), sending, its members, and, for the owner, inviting by public key (a policy
// from the room key, paid from the chosen account) and removing (the member's policy revoked on chain).
// The owner's key is Alice's seed, a member's key is Bob's receiving key (both as the Alice and Bob pages
// keep them). docs/chat.md tells the room model.
import {
  AliceKeys,
  ChatRoom,
  createRoom,
  formatKms,
  inviteMember,
  keyHex,
  memberIdentity,
  ownerIdentity,
  parseFeeRate,
  parsePeriods,
  parsePublicKey,
  randomBytes,
  removeMember,
  SecretKey,
  UserError,
  type ChatMessage,
  type RoomRef,
} from "../lib";
import { AccountPicker, app } from "./context";
import { KEYS, load, save } from "./keystore";
import { button, field, h, Outcome, valueOf } from "./ui";

const ROOMS = "chat/rooms";
const RELAY = "chat/relay";

interface StoredRoom {
  ref: RoomRef;
  role: "owner" | "member";
}

async function aliceKeys(): Promise<AliceKeys> {
  let seed = await load<Uint8Array>(KEYS.aliceSeed);
  if (!seed) {
    seed = randomBytes(32);
    await save(KEYS.aliceSeed, seed);
  }
  return AliceKeys.fromSeed(seed);
}

async function memberKey(): Promise<SecretKey> {
  const raw = await load<Uint8Array>(KEYS.bobKey);
  if (raw) return SecretKey.fromBEBytes(raw);
  const sk = SecretKey.random();
  await save(KEYS.bobKey, sk.toBEBytes());
  return sk;
}

const storedRooms = async () => (await load<StoredRoom[]>(ROOMS)) ?? [];

async function keepRoom(room: StoredRoom): Promise<void> {
  const others = (await storedRooms()).filter((r) => r.ref.roomId !== room.ref.roomId);
  await save(ROOMS, [...others, room]);
}

/** Parses a pasted room file (kms chat create --out, or the owner's "room file" below). */
function parseRoomRef(text: string): RoomRef {
  let ref: RoomRef;
  try {
    ref = JSON.parse(text) as RoomRef;
  } catch {
    throw new UserError("the room file is not JSON: paste the whole file the owner gave you");
  }
  if (ref?.kind !== "umbral-kms/chat-room" || !/^0x[0-9a-f]{32}$/.test(String(ref.roomId))) {
    throw new UserError("this is not a room file (kind umbral-kms/chat-room)");
  }
  return ref;
}

let following: AbortController | undefined;

export async function chatPage(root: HTMLElement): Promise<void> {
  following?.abort();
  const bob = await memberKey();
  const keys = await aliceKeys();
  const account = new AccountPicker("chat-account");
  const outcome = new Outcome("chat");
  const roomList = h("ul", { id: "room-list", class: "rooms" });
  const roomView = h("section", { id: "room-view" });

  async function listRooms(): Promise<void> {
    const rooms = await storedRooms();
    roomList.replaceChildren(
      ...(rooms.length
        ? rooms.map((r) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: "#chat", "data-room": r.ref.roomId, onclick: () => void openRoom(r) },
                `${r.ref.name} (${r.role})`,
              ),
            ),
          )
        : [h("li", {}, "no rooms yet: create one, or join with a room file")]),
    );
  }

  async function openRoom(stored: StoredRoom): Promise<void> {
    following?.abort();
    const stop = (following = new AbortController());
    const identity = stored.role === "owner" ? ownerIdentity(keys, stored.ref.roomId) : memberIdentity(bob);
    const room = new ChatRoom(stored.ref, identity);
    const messages = h("ol", { id: "messages", class: "messages" });
    const members = h("ul", { id: "members" });
    const roomOutcome = new Outcome("room");
    const show = (m: ChatMessage) =>
      messages.append(
        h(
          "li",
          { class: m.text === undefined ? "message error" : "message", "data-seq": String(m.seq) },
          h("b", {}, m.authorName),
          ` ${new Date(m.sentAt).toLocaleTimeString()} `,
          m.text ?? `✗ ${m.error?.message ?? "unreadable"}`,
        ),
      );
    const listMembers = () =>
      members.replaceChildren(
        ...room.state.members.map((m) =>
          h(
            "li",
            { "data-member": m.key },
            `${m.name} `,
            h("code", {}, m.key.slice(0, 12) + "…"),
            ` until period ${m.grant.endPeriod} `,
            stored.role === "owner"
              ? button("Remove", `remove-${m.key.slice(2, 10)}`, roomOutcome, async () => {
                  const { contracts } = app();
                  const owner = await account.signer();
                  const removal = await removeMember(
                    contracts.policyManager,
                    owner,
                    stored.ref,
                    keys,
                    parsePublicKey(m.key, "member"),
                  );
                  roomOutcome.ok(
                    removal.revoked
                      ? `${m.name} removed; policy revoked, ${formatKms(removal.refund)} KMS refunded`
                      : `${m.name} removed; the policy was in its last period and ends at its close`,
                  );
                  await room.sync();
                  listMembers();
                })
              : undefined,
          ),
        ),
      );
    const inviteForm =
      stored.role === "owner"
        ? h(
            "div",
            { class: "invite" },
            h("h3", {}, "Invite"),
            field(
              "Member's public key",
              h("input", { id: "invite-key", placeholder: "0x03…" }),
              "as the Bob page shows it",
            ),
            field("Name", h("input", { id: "invite-name", value: "member" })),
            field("Periods", h("input", { id: "invite-periods", value: "5" })),
            field("Fee rate (KMS per node per period)", h("input", { id: "invite-fee-rate", value: "0.01" })),
            button("Invite", "invite", roomOutcome, async () => {
              const { contracts } = app();
              const owner = await account.signer();
              const { grant } = await inviteMember(contracts, stored.ref, keys, {
                owner,
                member: parsePublicKey(valueOf("invite-key"), "the member's key"),
                name: valueOf("invite-name") || "member",
                threshold: 2,
                shares: 3,
                periods: parsePeriods("membership periods", valueOf("invite-periods")),
                feeRate: parseFeeRate(valueOf("invite-fee-rate")),
              });
              roomOutcome.ok(`invited: policy ${grant.policyId}, 2-of-3, until period ${grant.endPeriod}`);
              await room.sync();
              listMembers();
            }),
          )
        : undefined;
    roomView.replaceChildren(
      h("h2", {}, stored.ref.name),
      h("p", {}, `room ${stored.ref.roomId} on ${stored.ref.relay}; you are the ${stored.role}`),
      messages,
      h(
        "div",
        { class: "compose" },
        h("input", { id: "chat-text", placeholder: "a message", maxlength: "8192" }),
        button("Send", "chat-send", roomOutcome, async () => {
          await room.send(valueOf("chat-text"));
          (document.getElementById("chat-text") as HTMLInputElement).value = "";
        }),
      ),
      roomOutcome.el,
      h("h3", {}, "Members"),
      members,
      ...(inviteForm ? [inviteForm] : []),
      h(
        "details",
        {},
        h("summary", {}, "Room file (give it to members)"),
        h("pre", { id: "room-file" }, JSON.stringify(stored.ref, null, 2)),
      ),
    );
    try {
      (await room.sync()).forEach(show);
      listMembers();
      for await (const m of room.follow(stop.signal)) {
        show(m);
        if (room.state.members.length !== members.children.length) listMembers();
      }
    } catch (error) {
      if (!stop.signal.aborted) roomOutcome.fail(error);
    }
  }

  root.replaceChildren(
    h("h2", {}, "Chat"),
    h(
      "p",
      {},
      "Your member key (give it to a room's owner): ",
      h("code", { id: "member-key" }, keyHex(bob.publicKey())),
    ),
    field("Account (pays invitations, revokes)", account.el),
    field("Relay", h("input", { id: "relay-url", value: (await load<string>(RELAY)) ?? "http://127.0.0.1:8787" })),
    field("New room's name", h("input", { id: "room-name", value: "room" })),
    button("Create room", "create-room", outcome, async () => {
      await save(RELAY, valueOf("relay-url"));
      const ref = await createRoom(valueOf("relay-url"), keys, { name: valueOf("room-name") || "room" });
      await keepRoom({ ref, role: "owner" });
      outcome.ok(`room ${ref.roomId} created`);
      await listRooms();
      void openRoom({ ref, role: "owner" });
    }),
    field("Join with a room file", h("textarea", { id: "room-file-in", rows: "3" })),
    button("Join", "join-room", outcome, async () => {
      const ref = parseRoomRef(valueOf("room-file-in"));
      await keepRoom({ ref, role: "member" });
      await listRooms();
      void openRoom({ ref, role: "member" });
    }),
    outcome.el,
    h("h3", {}, "Rooms"),
    roomList,
    roomView,
  );
  await listRooms();
}
