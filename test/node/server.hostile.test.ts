// The node's HTTP server against hostile clients (issue 20, items 4, 5, 7, 13): per-client rate limits, caps
// on re-encryption work in flight (429 / 503 + Retry-After), capsules interleaved so a big request cannot
// starve a small one, header/request/idle timeouts, connection caps, and logs that do not link a client
// address to a policy id. Every flood here is a handful of requests or sockets on loopback, and every wait is
// on an event (a response, a close, a call counted by a fake), bounded by a deadline; nothing is timed.
import { expect } from "chai";
import http from "node:http";
import net from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hexlify } from "ethers";
import type { FastifyInstance } from "fastify";
import { buildNodeServer, type NodeServerLimits } from "../../src/node/server";
import { AdmissionRefusedError, WorkAdmission } from "../../src/node/admission";
import { KFragStore } from "../../src/node/store";
import type { LivePolicy, PolicyView } from "../../src/network/chain";
import { heldPolicy, TEST_STAKER, testIdentity } from "./fixture";
import { encrypt } from "../../src/umbral";

const POLICY_ID = "0x" + "ab".repeat(16);
const STAKER = TEST_STAKER;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { code?: string; cfrags?: unknown[]; kfrags?: number };
}

/** Sends one request on a new connection from `localAddress` (a loopback address). */
function send(
  port: number,
  options: { method?: string; path: string; body?: unknown; localAddress?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? (payload ? "POST" : "GET"),
        path: options.path,
        localAddress: options.localAddress ?? "127.0.0.1",
        agent: false,
        headers: payload ? { "content-type": "application/json" } : {},
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Answer["body"],
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

/** Resolves when `predicate()` holds, checking on every turn of the event loop; rejects after `ms`. */
async function until(what: string, predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Rejects with `message` unless `promise` settles within `ms`. */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}

/** A policy, its kfrag held by the node, and capsules made with the policy key. */
function makePolicy() {
  const { alice, stored } = heldPolicy(POLICY_ID);
  const capsule = hexlify(encrypt(alice.publicKey(), new Uint8Array(32))[0].toBytes());
  return { stored, capsule };
}

describe("node server against hostile clients", function () {
  this.timeout(60_000);

  const live: LivePolicy = { owner: STAKER, nodes: [STAKER], endPeriod: 1000n, revoked: false };
  const { stored, capsule } = makePolicy();
  let app: FastifyInstance | undefined;
  let sockets: net.Socket[] = [];
  let stores: KFragStore[] = [];

  afterEach(async function () {
    for (const socket of sockets) socket.destroy();
    sockets = [];
    await app?.close();
    app = undefined;
    for (const store of stores) await store.close();
    stores = [];
  });

  /**
   * Starts a node server on 127.0.0.1 with `limits`, a fake chain and a fresh store holding the kfrag. While `hold` is set, every
   * policy read waits on it, so admitted requests stay in flight; `reads` counts the reads begun.
   */
  async function start(
    limits: Partial<NodeServerLimits>,
    extra: { logger?: Parameters<typeof buildNodeServer>[0]["logger"]; store?: KFragStore } = {},
  ) {
    const state = { reads: 0, hold: undefined as Promise<void> | undefined };
    const policies: PolicyView = {
      async getPolicy() {
        state.reads++;
        await state.hold;
        return live;
      },
      currentPeriod: async () => 1n,
    };
    let store = extra.store;
    if (!store) {
      store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-hostile-")));
      stores.push(store);
      await store.put(stored);
    }
    app = buildNodeServer({
      identity: testIdentity(),
      store,
      policies,
      limits: { rateMax: 10_000, refusalDelayMs: 0, ...limits },
      logger: extra.logger,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as net.AddressInfo).port;
    return { port, state };
  }

  const reencrypt = (n: number) => ({
    path: `/v1/policies/${POLICY_ID}/reencrypt`,
    body: { capsules: Array(n).fill(capsule) },
  });

  it("answers 503 with Retry-After once the capsules in flight reach the global cap", async function () {
    const { port, state } = await start({ maxCapsulesInFlight: 4, maxCapsulesPerClient: 4, retryAfterSeconds: 2 });
    let release!: () => void;
    state.hold = new Promise((resolve) => (release = resolve));
    // Four clients, one capsule each: the cap is reached, all four wait on the chain.
    const admitted = [2, 3, 4, 5].map((i) => send(port, { ...reencrypt(1), localAddress: `127.0.0.${i}` }));
    await until("four requests admitted", () => state.reads === 4);
    // A fifth client is refused at once; with no cap it would be admitted and read the policy too.
    const refused = send(port, { ...reencrypt(1), localAddress: "127.0.0.6" });
    await Promise.race([
      refused,
      until("the fifth request is refused", () => state.reads > 4).then(() => {
        throw new Error("a fifth request was admitted past the cap");
      }),
    ]);
    const answer = await refused;
    expect(answer.status).to.equal(503);
    expect(answer.body.code).to.equal("OVERLOADED");
    expect(answer.headers["retry-after"]).to.equal("2");
    release();
    for (const done of await Promise.all(admitted)) expect(done.status).to.equal(200);
    // Capacity comes back once they are done.
    expect((await send(port, { ...reencrypt(1), localAddress: "127.0.0.6" })).status).to.equal(200);
  });

  it("answers 429 with Retry-After to a client past its own share, and still serves other clients", async function () {
    const { port, state } = await start({ maxCapsulesInFlight: 64, maxCapsulesPerClient: 2 });
    let release!: () => void;
    state.hold = new Promise((resolve) => (release = resolve));
    const first = send(port, { ...reencrypt(2), localAddress: "127.0.0.2" });
    await until("the first request admitted", () => state.reads === 1);
    const again = await send(port, { ...reencrypt(1), localAddress: "127.0.0.2" });
    expect(again.status).to.equal(429);
    expect(again.body.code).to.equal("CLIENT_BUSY");
    expect(again.headers["retry-after"]).to.equal("1");
    // Too many capsules for any share is refused the same way, without waiting.
    expect((await send(port, { ...reencrypt(3), localAddress: "127.0.0.3" })).status).to.equal(429);
    const other = send(port, { ...reencrypt(1), localAddress: "127.0.0.4" });
    await until("another client admitted", () => state.reads === 2);
    release();
    expect((await first).status).to.equal(200);
    expect((await other).status).to.equal(200);
  });

  it("rate-limits requests per client address with 429 and Retry-After", async function () {
    const { port } = await start({ rateMax: 5, rateWindowMs: 60_000 });
    for (let i = 0; i < 5; i++) expect((await send(port, { path: "/v1/status" })).status).to.equal(200);
    const limited = await send(port, { path: "/v1/status" });
    expect(limited.status).to.equal(429);
    expect(limited.body.code).to.equal("RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).to.be.within(1, 60);
    // Unknown paths count too, and other addresses have their own budget.
    expect((await send(port, { path: "/nope" })).status).to.equal(429);
    expect((await send(port, { path: "/v1/status", localAddress: "127.0.0.2" })).status).to.equal(200);
  });

  it("interleaves capsules: a one-capsule request finishes before a 32-capsule one that started first", async function () {
    const { port, state } = await start({ maxCapsulesInFlight: 64, maxCapsulesPerClient: 32 });
    const finished: string[] = [];
    const big = send(port, { ...reencrypt(32), localAddress: "127.0.0.2" }).then((a) => (finished.push("big"), a));
    await until("the big request admitted", () => state.reads === 1);
    const small = send(port, reencrypt(1)).then((a) => (finished.push("small"), a));
    const [bigAnswer, smallAnswer] = await Promise.all([big, small]);
    expect(bigAnswer.status).to.equal(200);
    expect(bigAnswer.body.cfrags).to.have.length(32);
    expect(smallAnswer.status).to.equal(200);
    // Without turns the big request's loop holds the event loop until all 32 cfrags are signed.
    expect(finished).to.deep.equal(["small", "big"]);
  });

  it("closes connections that send headers too slowly, never finish a body, or stay silent", async function () {
    const { port } = await start({
      headersTimeoutMs: 200,
      requestTimeoutMs: 400,
      idleTimeoutMs: 600,
      timeoutCheckIntervalMs: 50,
    });
    const closed: Promise<void>[] = [];
    const open = (first?: string) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.resume();
      closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
      if (first) socket.write(first);
    };
    for (let i = 0; i < 4; i++) open(`GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
    for (let i = 0; i < 4; i++) {
      open(
        `POST /v1/policies/${POLICY_ID}/reencrypt HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"capsules":[`,
      );
    }
    for (let i = 0; i < 4; i++) open();
    await within(Promise.all(closed), 10_000, "the server kept slow connections open");
  });

  it("caps connections in all and per client address", async function () {
    const { port } = await start({ maxConnections: 4, maxConnectionsPerClient: 2 });
    const connect = (localAddress: string) =>
      new Promise<{ socket: net.Socket; closed: Promise<void> }>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve({ socket, closed }));
        sockets.push(socket);
        socket.on("error", () => undefined);
        const closed = new Promise<void>((done) => socket.once("close", () => done()));
        socket.once("error", reject);
      });
    const isOpen = async (socket: net.Socket) =>
      new Promise<boolean>((resolve) => {
        socket.once("data", () => resolve(true));
        socket.once("close", () => resolve(false));
        socket.write("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      });
    // Three from one address: the third is closed by the per-client cap.
    const a = [await connect("127.0.0.2"), await connect("127.0.0.2"), await connect("127.0.0.2")];
    await within(a[2].closed, 10_000, "a third connection from one address was kept");
    // Two more addresses fill the cap of four; a fifth connection is closed.
    const b = [await connect("127.0.0.3"), await connect("127.0.0.4"), await connect("127.0.0.5")];
    await within(b[2].closed, 10_000, "a fifth connection was kept past maxConnections");
    for (const kept of [a[0], a[1], b[0], b[1]]) expect(await isOpen(kept.socket)).to.equal(true);
  });

  it("logs no client address at info level (so no request links a client to a policy id)", async function () {
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const { port } = await start({}, { logger: { level: "info", stream } });
    expect((await send(port, { ...reencrypt(1), localAddress: "127.0.0.7" })).status).to.equal(200);
    await until("the request logged", () => lines.some((l) => l.includes("request completed")));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.some((r) => r.msg === "re-encrypted" && r.policyId === POLICY_ID)).to.equal(true);
    expect(lines.filter((l) => l.includes("127.0.0.7"))).to.deep.equal([]);
    expect(records.filter((r) => JSON.stringify(r.req ?? {}).includes("remote"))).to.deep.equal([]);
  });

  it("logs the client address only when asked to", async function () {
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const { port } = await start({}, { logger: { level: "info", stream, logClientAddress: true } });
    expect((await send(port, { path: "/v1/status", localAddress: "127.0.0.7" })).status).to.equal(200);
    await until("the request logged", () => lines.some((l) => l.includes("incoming request")));
    expect(lines.some((l) => l.includes("127.0.0.7"))).to.equal(true);
  });

  it("answers /v1/status from a kept kfrag count, without walking the store", async function () {
    const store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-status-")));
    try {
      for (let i = 0; i < 3; i++) {
        await store.put({ ...stored, policyId: "0x" + String(i).repeat(32) });
      }
      // Any walk of the LevelDB now fails the request.
      const db = (store as unknown as { db: Record<string, unknown> }).db;
      for (const walk of ["keys", "values", "iterator"]) {
        db[walk] = () => {
          throw new Error(`the status walked the store (${walk})`);
        };
      }
      const { port } = await start({}, { store });
      for (let i = 0; i < 3; i++) {
        const status = await send(port, { path: "/v1/status" });
        expect(status.status).to.equal(200);
        expect(status.body.kfrags).to.equal(3);
      }
    } finally {
      await app?.close();
      app = undefined;
      await store.close();
    }
  });
});

describe("WorkAdmission", function () {
  it("keeps the last quarter of the global cap for small requests", function () {
    const admission = new WorkAdmission({
      maxCapsulesInFlight: 16,
      maxCapsulesPerClient: 32,
      retryAfterSeconds: 1,
      refusalDelayMs: 0,
    });
    const big = admission.admit("a", 12);
    // A big request would cross three quarters (12 of 16): refused, though 4 capsules are free.
    expect(() => admission.admit("b", 5)).to.throw(AdmissionRefusedError, /at capacity/);
    // Small requests get the rest, up to the cap.
    const small = [admission.admit("c", 1), admission.admit("d", 3)];
    expect(admission.inFlight).to.equal(16);
    expect(() => admission.admit("e", 1)).to.throw(AdmissionRefusedError, /at capacity/);
    big.release();
    big.release(); // idempotent
    for (const ticket of small) ticket.release();
    expect(admission.inFlight).to.equal(0);
  });
});
