// The chat relay: a small HTTP server that keeps each room's log of signed entries (./format) in LevelDB and
// passes new entries on live (server-sent events). It never holds a key: it stores ciphertext and public
// metadata only, and checks what it can check without one (form, sizes, the owner's signature on states,
// that authors are members, that messages use an epoch of the current membership) so that it cannot be made
// to keep junk; members check everything again, they do not trust it.
//
// Routes (JSON; errors are { statusCode, code, error }):
//   POST /v1/rooms                      a room's first state (seq 0)            → { roomId, seq }
//   GET  /v1/rooms/:roomId              the state in effect and the log's length → { state, head }
//   POST /v1/rooms/:roomId/entries      a state, epoch or message                 → { seq }
//   GET  /v1/rooms/:roomId/entries      ?after=<seq>&limit=<n> (n ≤ 500)          → { entries, head }
//   GET  /v1/rooms/:roomId/events       ?after=<seq>: text/event-stream, one `data:` line per logged entry
//   GET  /v1/status                     rooms, open streams, the process's RSS and heap in use
// Node only (LevelDB, fastify).
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import { ClassicLevel } from "classic-level";
import { ChatError } from "./errors";
import { parseEntry, RoomLog, type ChatEntry, type LoggedEntry, type RoomState } from "./format";

export interface RelayOptions {
  /** LevelDB directory (created if missing). */
  dataDir: string;
  /** Origins allowed to call the relay from a browser (CORS); `*` for any. Default none. */
  corsOrigins?: readonly string[];
  /** Posts per client address per minute; default 600. */
  postsPerMinute?: number;
  /** Largest request body in bytes; default 256 KiB (a state lists every member's grant). */
  bodyLimit?: number;
  /** Most rooms this relay keeps; default 10,000. */
  maxRooms?: number;
  logger?: boolean | { level: string };
}

/** A refusal, with the HTTP status and a stable code. */
class RelayError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PAGE_MAX = 500;
const HEARTBEAT_MS = 15_000;
const pad = (seq: number) => seq.toString().padStart(12, "0");
const ROOM_ID = /^0x[0-9a-f]{32}$/;

/** What the relay keeps per room besides its log. */
interface RoomMeta {
  head: number;
  state: RoomState;
  /** epochId → the state seq it was made under. */
  epochs: Record<string, number>;
}

export interface Relay {
  app: FastifyInstance;
  db: ClassicLevel<string, string>;
  /** Closes open event streams, the server and the store. */
  close(): Promise<void>;
}

/** Builds the relay, unstarted (`app.listen` starts it; tests may `app.inject`). */
export async function buildRelay(options: RelayOptions): Promise<Relay> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = new ClassicLevel<string, string>(options.dataDir, { valueEncoding: "utf8" });
  await db.open();
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 256 * 1024 });
  const live = new EventEmitter();
  live.setMaxListeners(0);
  const streams = new Set<FastifyReply>();
  const metas = new Map<string, RoomMeta>();
  /** One write at a time per room, so that sequence numbers are dense and checks see the log they extend. */
  const queues = new Map<string, Promise<unknown>>();
  let roomCount = Number((await db.get("count/rooms").catch(() => undefined)) ?? 0);

  if (options.corsOrigins?.length) {
    await app.register(cors, { origin: options.corsOrigins.includes("*") ? true : [...options.corsOrigins] });
  }
  await app.register(rateLimit, {
    global: false,
    max: options.postsPerMinute ?? 600,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) =>
      new RelayError(429, "RATE_LIMITED", `too many posts from this address; retry in ${context.after}`),
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    if (error instanceof RelayError) {
      return reply
        .status(error.statusCode)
        .send({ statusCode: error.statusCode, code: error.code, error: error.message });
    }
    if (error instanceof ChatError) {
      return reply.status(400).send({ statusCode: 400, code: "BAD_ENTRY", error: error.message });
    }
    if (error.statusCode === 413) {
      return reply.status(413).send({ statusCode: 413, code: "TOO_LARGE", error: "the request body is too large" });
    }
    if (error.validation || (error.statusCode && error.statusCode < 500)) {
      const statusCode = error.statusCode ?? 400;
      return reply.status(statusCode).send({ statusCode, code: error.code ?? "BAD_REQUEST", error: error.message });
    }
    request.log.error({ err: error }, "internal error");
    return reply.status(500).send({ statusCode: 500, code: "INTERNAL", error: "internal error" });
  });

  async function metaOf(roomId: string): Promise<RoomMeta> {
    if (!ROOM_ID.test(roomId))
      throw new RelayError(400, "BAD_ROOM_ID", `${roomId} is not a room id (16 bytes as 0x-hex)`);
    const cached = metas.get(roomId);
    if (cached) return cached;
    const text = await db.get(`meta/${roomId}`).catch(() => undefined);
    if (text === undefined) throw new RelayError(404, "UNKNOWN_ROOM", `this relay has no room ${roomId}`);
    const meta = JSON.parse(text) as RoomMeta;
    metas.set(roomId, meta);
    return meta;
  }

  function serialized<T>(roomId: string, work: () => Promise<T>): Promise<T> {
    const run = (queues.get(roomId) ?? Promise.resolve()).then(work, work);
    queues.set(
      roomId,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Checks `entry` against the room's state and appends it; returns its sequence number. */
  async function append(roomId: string, entry: ChatEntry, creating: boolean): Promise<number> {
    return serialized(roomId, async () => {
      let meta: RoomMeta | undefined;
      if (creating) {
        if (await db.get(`meta/${roomId}`).catch(() => undefined)) {
          throw new RelayError(409, "ROOM_EXISTS", `room ${roomId} exists already`);
        }
        if (roomCount >= (options.maxRooms ?? 10_000)) {
          throw new RelayError(507, "RELAY_FULL", "this relay keeps no more rooms");
        }
      } else {
        meta = await metaOf(roomId);
      }
      // The relay's view of the log: the state in effect and the epochs made under it are all a check needs.
      const log = new RoomLog(roomId);
      if (meta) {
        log.state = meta.state;
        for (const [epochId, stateSeq] of Object.entries(meta.epochs)) {
          log.epochs.set(epochId, { stateSeq } as never);
        }
      }
      try {
        log.apply(entry);
      } catch (error) {
        const code = /unknown epoch|from before the last membership/.test((error as Error).message)
          ? "STALE_EPOCH"
          : /not a member|not signed/.test((error as Error).message)
            ? "FORBIDDEN"
            : "BAD_ENTRY";
        throw new RelayError(
          code === "FORBIDDEN" ? 403 : code === "STALE_EPOCH" ? 409 : 400,
          code,
          (error as Error).message,
        );
      }
      const seq = meta ? meta.head : 0;
      const next: RoomMeta = meta ? { ...meta, head: seq + 1 } : { head: 1, state: entry as RoomState, epochs: {} };
      if (entry.type === "state") {
        next.state = entry;
        next.epochs = {}; // a membership change ends every earlier epoch
      } else if (entry.type === "epoch") {
        next.epochs = { ...next.epochs, [entry.epochId.toLowerCase()]: entry.stateSeq };
      }
      const logged: LoggedEntry = { seq, receivedAt: Date.now(), entry };
      const batch = db
        .batch()
        .put(`log/${roomId}/${pad(seq)}`, JSON.stringify(logged))
        .put(`meta/${roomId}`, JSON.stringify(next));
      if (creating) batch.put("count/rooms", String(roomCount + 1));
      await batch.write({ sync: true });
      if (creating) roomCount++;
      metas.set(roomId, next);
      live.emit(roomId, logged);
      return seq;
    });
  }

  const postLimit = { rateLimit: { max: options.postsPerMinute ?? 600, timeWindow: 60_000 } };

  app.post("/v1/rooms", { config: postLimit }, async (request) => {
    const entry = parseEntry(request.body);
    if (entry.type !== "state" || entry.seq !== 0) {
      throw new RelayError(400, "BAD_ENTRY", "a room begins with its owner's state number 0");
    }
    const roomId = entry.roomId.toLowerCase();
    if (entry.roomId !== roomId) throw new RelayError(400, "BAD_ROOM_ID", "room ids are lower-case hex");
    const seq = await append(roomId, entry, true);
    return { roomId, seq };
  });

  app.get<{ Params: { roomId: string } }>("/v1/rooms/:roomId", async (request) => {
    const meta = await metaOf(request.params.roomId);
    return { state: meta.state, head: meta.head };
  });

  app.post<{ Params: { roomId: string } }>("/v1/rooms/:roomId/entries", { config: postLimit }, async (request) => {
    await metaOf(request.params.roomId);
    const entry = parseEntry(request.body);
    return { seq: await append(request.params.roomId, entry, false) };
  });

  /** Logged entries of a room from `after` + 1 on, at most `limit`. */
  async function page(roomId: string, after: number, limit: number): Promise<LoggedEntry[]> {
    const entries: LoggedEntry[] = [];
    for await (const value of db.values({ gt: `log/${roomId}/${pad(after)}`, lt: `log/${roomId}/~`, limit })) {
      entries.push(JSON.parse(value) as LoggedEntry);
    }
    return entries;
  }

  const pageQuery = {
    type: "object",
    properties: {
      after: { type: "integer", minimum: -1, default: -1 },
      limit: { type: "integer", minimum: 1, maximum: PAGE_MAX, default: 100 },
    },
    additionalProperties: false,
  } as const;

  app.get<{ Params: { roomId: string }; Querystring: { after: number; limit: number } }>(
    "/v1/rooms/:roomId/entries",
    { schema: { querystring: pageQuery } },
    async (request) => {
      const meta = await metaOf(request.params.roomId);
      const after = request.query.after;
      // `after` -1 (the default) is "from the beginning": pad(-1) sorts before every seq.
      const entries = await page(request.params.roomId, after, request.query.limit);
      return { entries, head: meta.head };
    },
  );

  app.get<{ Params: { roomId: string }; Querystring: { after: number } }>(
    "/v1/rooms/:roomId/events",
    { schema: { querystring: { ...pageQuery, properties: { after: pageQuery.properties.after } } } },
    async (request, reply) => {
      const roomId = request.params.roomId;
      await metaOf(roomId);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
        ...corsHeaders(request.headers.origin),
      });
      let last = request.query.after;
      const pending: LoggedEntry[] = [];
      let replaying = true;
      const send = (logged: LoggedEntry) => {
        if (logged.seq <= last) return;
        last = logged.seq;
        raw.write(`id: ${logged.seq}\ndata: ${JSON.stringify(logged)}\n\n`);
      };
      const onEntry = (logged: LoggedEntry) => (replaying ? pending.push(logged) : send(logged));
      live.on(roomId, onEntry);
      streams.add(reply);
      const heartbeat = setInterval(() => raw.write(": keep-alive\n\n"), HEARTBEAT_MS);
      const end = () => {
        clearInterval(heartbeat);
        live.off(roomId, onEntry);
        streams.delete(reply);
      };
      raw.on("close", end);
      // The backlog first, page by page; entries logged meanwhile wait in `pending` and go out in order.
      for (;;) {
        const entries = await page(roomId, last, PAGE_MAX);
        entries.forEach(send);
        if (entries.length < PAGE_MAX) break;
      }
      replaying = false;
      pending.forEach(send);
    },
  );

  function corsHeaders(origin: string | undefined): Record<string, string> {
    const allowed = options.corsOrigins ?? [];
    if (!origin || !(allowed.includes("*") || allowed.includes(origin))) return {};
    return { "access-control-allow-origin": allowed.includes("*") ? "*" : origin, vary: "origin" };
  }

  app.get("/v1/status", async () => {
    const { rss, heapUsed } = process.memoryUsage();
    return { rooms: roomCount, streams: streams.size, rssBytes: rss, heapUsedBytes: heapUsed };
  });

  return {
    app,
    db,
    async close() {
      for (const reply of streams) reply.raw.end();
      streams.clear();
      await app.close();
      await db.close();
    },
  };
}

/** Starts a relay on `host:port` (port 0: a free one); resolves with it and its URL. */
export async function startRelay(
  options: RelayOptions & { host?: string; port?: number },
): Promise<Relay & { url: string }> {
  const relay = await buildRelay(options);
  const address = await relay.app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  return { ...relay, url: address.replace("[::1]", "127.0.0.1") };
}
