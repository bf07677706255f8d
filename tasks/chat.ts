// Chat tasks: `kms chat <action>` (create, invite, remove, members, send, read, follow) and `kms chat-relay`.
// Thin: parse, check, call src/chat, print one line per message. docs/chat.md tells the room model.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { kms } from "./scope";
import { FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { AliceKeys, parsePublicKey, readSecretKeyFile } from "../src/client/keys";
import { checkOutputPath, writeOutputText } from "../src/client/output";
import { parsePeriods } from "../src/staking";
import { parseFeeRate } from "../src/policy";
import { flag, kmsTypes, parseWhole } from "../src/cli/args";
import { checkPolicyPayment } from "../src/cli/checks";
import { ArgumentError, UserError } from "../src/cli/errors";
import {
  ChatRoom,
  createRoom,
  DEFAULT_EPOCH_SECONDS,
  inviteMember,
  memberIdentity,
  ownerIdentity,
  removeMember,
  type ChatIdentity,
  type ChatMessage,
  type RoomRef,
} from "../src/chat";
import { startRelay } from "../src/chat/relay";

const ACTIONS = ["create", "invite", "remove", "members", "send", "read", "follow"] as const;
type Action = (typeof ACTIONS)[number];

interface ChatArgs {
  action?: string;
  room?: string;
  relay?: string;
  name?: string;
  epochSeconds?: string;
  aliceKey?: string;
  key?: string;
  member?: string;
  message?: string;
  threshold?: string;
  shares?: string;
  periods?: string;
  feeRate?: string;
  out?: string;
  count?: string;
  timeout?: string;
  force: boolean;
  from?: string;
}

/** Which options each action takes; the others are refused, so that a typo is not silently ignored. */
const TAKES: Record<Action, (keyof ChatArgs)[]> = {
  create: ["relay", "name", "epochSeconds", "aliceKey", "out", "force"],
  invite: ["room", "aliceKey", "member", "name", "threshold", "shares", "periods", "feeRate", "from"],
  remove: ["room", "aliceKey", "member", "from"],
  members: ["room"],
  send: ["room", "key", "aliceKey", "message", "timeout"],
  read: ["room", "key", "aliceKey", "timeout"],
  follow: ["room", "key", "aliceKey", "count", "timeout"],
};

function need<K extends keyof ChatArgs>(args: ChatArgs, name: K, action: Action): NonNullable<ChatArgs[K]> {
  const value = args[name];
  if (value === undefined || value === "") throw new ArgumentError(`kms chat ${action} needs ${flag(name)}`);
  return value as NonNullable<ChatArgs[K]>;
}

/** Reads and checks a room file (kms chat create --out). */
export function readRoomFile(file: string): RoomRef {
  let ref: RoomRef;
  try {
    ref = JSON.parse(readFileSync(file, "utf8")) as RoomRef;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `no room file ${file}` : `${file} is not a room file (JSON)`);
  }
  if (ref.kind !== "umbral-kms/chat-room" || typeof ref.relay !== "string" || !/^0x[0-9a-f]{32}$/.test(ref.roomId)) {
    throw new UserError(`${file} is not a room file (kms chat create --out writes one)`);
  }
  return ref;
}

/** Who the command speaks as: a member's key file (--key) or the owner's (--alice-key). */
function identityOf(args: ChatArgs, ref: RoomRef, action: Action, timeoutMs: number): ChatIdentity {
  if ((args.key === undefined) === (args.aliceKey === undefined)) {
    throw new ArgumentError(
      `kms chat ${action} needs exactly one of --key (a member's key file) and --alice-key (the owner's)`,
    );
  }
  if (args.aliceKey) return ownerIdentity(AliceKeys.fromFile(args.aliceKey), ref.roomId);
  return memberIdentity(readSecretKeyFile(args.key!), { timeoutMs, onWarning: (m) => console.warn(`warning: ${m}`) });
}

const line = (m: ChatMessage): string =>
  `#${m.seq} ${new Date(m.sentAt).toISOString()} ${m.authorName}: ` +
  (m.text ?? `✗ ${m.error?.message ?? "unreadable"}`);

kms
  .task("chat", `Encrypted multi-user chat through a relay: kms chat <${ACTIONS.join("|")}> … (docs/chat.md)`)
  .addPositionalParam("action", ACTIONS.join(", "), undefined, kmsTypes.text)
  .addOptionalParam(
    "room",
    "The room file (kms chat create --out writes it; give it to members)",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam("relay", "create: the relay's URL (npm run relay)", undefined, kmsTypes.text)
  .addOptionalParam("name", "create: the room's name; invite: the member's", undefined, kmsTypes.text)
  .addOptionalParam(
    "epochSeconds",
    `create: how long one epoch key serves (0: a capsule per message); default ${DEFAULT_EPOCH_SECONDS}`,
    undefined,
    kmsTypes.int,
  )
  .addOptionalParam(
    "aliceKey",
    "The owner's key file (create, invite, remove; or to send and read as the owner)",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam("key", "send, read, follow: the member's key file (kms keygen)", undefined, kmsTypes.file)
  .addOptionalParam(
    "member",
    "invite, remove: the member's public key (kms pubkey --key <file>)",
    undefined,
    kmsTypes.hex,
  )
  .addOptionalParam("message", "send: the text", undefined, kmsTypes.text)
  .addOptionalParam("threshold", "invite: m, cfrags a member needs; default 2", undefined, kmsTypes.int)
  .addOptionalParam("shares", "invite: n, nodes of the member's policy; default 3", undefined, kmsTypes.int)
  .addOptionalParam("periods", "invite: how many periods the membership lasts", undefined, kmsTypes.periods)
  .addOptionalParam("feeRate", "invite: KMS per node per period", undefined, kmsTypes.kms)
  .addOptionalParam("out", "create: where to write the room file", undefined, kmsTypes.file)
  .addOptionalParam("count", "follow: stop after this many messages (default: until Ctrl-C)", undefined, kmsTypes.int)
  .addOptionalParam("timeout", "Seconds to wait for each node", "10", kmsTypes.int)
  .addFlag("force", "create: replace an existing room file")
  .addOptionalParam(
    "from",
    `invite, remove: the owner's account, pays and revokes. ${FROM}`,
    undefined,
    kmsTypes.account,
  )
  .setAction(async (args: ChatArgs, hre: HardhatRuntimeEnvironment) => {
    const action = args.action as Action;
    if (!ACTIONS.includes(action)) {
      throw new ArgumentError(`kms chat: unknown action "${String(args.action)}" (one of ${ACTIONS.join(", ")})`);
    }
    for (const [name, value] of Object.entries(args) as [keyof ChatArgs, unknown][]) {
      if (name === "action" || name === "timeout" || value === undefined || value === false) continue;
      if (!TAKES[action].includes(name)) throw new ArgumentError(`kms chat ${action} does not take ${flag(name)}`);
    }
    const timeoutMs = parseWhole(args.timeout ?? "10", "--timeout", 1, 3600) * 1000;

    if (action === "create") {
      const out = need(args, "out", action);
      checkOutputPath(out, { overwrite: args.force });
      const keys = AliceKeys.fromFile(need(args, "aliceKey", action));
      const epochSeconds = parseWhole(args.epochSeconds ?? DEFAULT_EPOCH_SECONDS, "--epoch-seconds", 0, 86_400 * 30);
      const name = need(args, "name", action);
      const ref = await createRoom(need(args, "relay", action), keys, { name, epochSeconds });
      await writeOutputText(out, JSON.stringify(ref, null, 2) + "\n", { overwrite: args.force, mode: 0o644 });
      console.log(`room ${ref.roomId} "${name}" on ${ref.relay}; room file ${out} (give it to members)`);
      return ref;
    }

    const ref = readRoomFile(need(args, "room", action));
    if (action === "invite" || action === "remove") {
      const keys = AliceKeys.fromFile(need(args, "aliceKey", action));
      const member = parsePublicKey(need(args, "member", action), "--member");
      const contracts = await loadDeployment(hre);
      const owner = await signerFor(hre, args.from);
      if (action === "remove") {
        const { revoked, refund, state } = await removeMember(contracts.policyManager, owner, ref, keys, member);
        console.log(
          revoked
            ? `removed; policy revoked, ${formatKms(refund)} KMS refunded; ${state.members.length} member(s) left`
            : `removed from the room; the policy was in its last period or over, so it was not revoked (it ends at the period's close)`,
        );
        return state;
      }
      const shares = parseWhole(args.shares ?? 3, "--shares", 1, 32);
      const threshold = parseWhole(args.threshold ?? 2, "--threshold", 1, shares);
      const periods = parsePeriods("membership periods", need(args, "periods", action));
      const feeRate = parseFeeRate(need(args, "feeRate", action));
      await checkPolicyPayment(contracts, owner.address, { feeRate, periods, shares }, "the membership's policy");
      const { grant, state } = await inviteMember(contracts, ref, keys, {
        owner,
        member,
        name: need(args, "name", action),
        threshold,
        shares,
        periods,
        feeRate,
        onProgress: (message) => console.log(message),
      });
      console.log(
        `invited ${args.name} (${grant.receivingKey}): policy ${grant.policyId}, ${threshold}-of-${shares}, until period ${grant.endPeriod}; ${state.members.length} member(s)`,
      );
      return grant;
    }

    if (action === "members") {
      const room = new ChatRoom(ref, {
        key: "",
        signer: undefined as never,
        openEpoch: () => Promise.reject(new Error("unused")),
      });
      await room.sync();
      console.log(`room ${ref.roomId} "${room.state.name}", owner ${room.state.owner}`);
      for (const m of room.state.members)
        console.log(`${m.name} ${m.key} policy ${m.grant.policyId} until period ${m.grant.endPeriod}`);
      return room.state.members;
    }

    const room = new ChatRoom(ref, identityOf(args, ref, action, timeoutMs));
    if (action === "send") {
      const seq = await room.send(need(args, "message", action));
      console.log(`sent #${seq}`);
      return seq;
    }
    const messages = await room.sync();
    for (const rejected of room.rejected) console.warn(`warning: entry #${rejected.seq} rejected: ${rejected.reason}`);
    if (action === "read") {
      messages.forEach((m) => console.log(line(m)));
      const unreadable = messages.filter((m) => m.error);
      if (unreadable.length) {
        throw new UserError(
          `${unreadable.length} message(s) could not be opened: ${unreadable.at(-1)!.error!.message}`,
        );
      }
      return messages;
    }
    // follow: what is there, then what comes, until --count messages or Ctrl-C.
    const count = args.count === undefined ? Infinity : parseWhole(args.count, "--count", 1);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    let shown = 0;
    try {
      for (const m of messages) {
        if (shown++ >= count) break;
        console.log(line(m));
      }
      if (shown < count) {
        for await (const m of room.follow(stop.signal)) {
          console.log(line(m));
          if (++shown >= count) stop.abort();
        }
      }
    } finally {
      process.off("SIGINT", onSignal);
    }
    return room.messages.slice(0, Math.min(shown, room.messages.length));
  });

kms
  .task("chat-relay", "Runs a chat relay (stores only ciphertext; docs/chat.md) until Ctrl-C")
  .addOptionalParam("dataDir", "Its LevelDB directory", "chat-relay", kmsTypes.file)
  .addOptionalParam("host", "Address to listen on", "127.0.0.1", kmsTypes.text)
  .addOptionalParam("port", "Port (0: any free one)", "8787", kmsTypes.int)
  .addOptionalParam(
    "corsOrigin",
    "Comma-separated origins allowed to call it from a browser (or *)",
    undefined,
    kmsTypes.text,
  )
  .addOptionalParam("postsPerMinute", "Posts one client address may make per minute", "600", kmsTypes.int)
  .setAction(
    async (args: { dataDir: string; host: string; port: string; corsOrigin?: string; postsPerMinute: string }) => {
      const relay = await startRelay({
        dataDir: path.resolve(args.dataDir),
        host: args.host,
        port: parseWhole(args.port, "--port", 0, 65535),
        corsOrigins: args.corsOrigin?.split(",").map((o) => o.trim()),
        postsPerMinute: parseWhole(args.postsPerMinute, "--posts-per-minute", 1),
      });
      console.log(`chat relay on ${relay.url} (store ${path.resolve(args.dataDir)}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      await relay.close();
    },
  );
