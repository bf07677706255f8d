// Bob's and Alice's HTTP client against hostile servers: answers far larger than any real one are cut off
// early (the connection dropped, the server able to push only a few MiB), a body that stalls hits the
// deadline, and real-sized answers still pass.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  MAX_ANSWER_BYTES,
  NodeAnswerTooLargeError,
  NodeRefusedError,
  NodeUnreachableError,
  requestJson,
  retryAfterSeconds,
} from "../../src/client/http";

const MiB = 1024 * 1024;

/** A loopback HTTP server answering every request with `handler`; closed after each test. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
let servers: Server[] = [];

/**
 * Streams `total` bytes of a JSON string with back-pressure and resolves, once the connection closes, with how
 * many bytes the server managed to hand to the socket: what the client made it send.
 */
function streamHuge(res: ServerResponse, total: number, headers: Record<string, string | number> = {}) {
  return new Promise<number>((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    res.on("close", () => resolve(sent));
    res.writeHead(200, { "content-type": "application/json", ...headers });
    res.write('{"x":"');
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end('"}');
    };
    pump();
  });
}

describe("client HTTP: bounded answers", function () {
  afterEach(async function () {
    await Promise.all(
      servers.map((server) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        return closed;
      }),
    );
    servers = [];
  });

  it("stops reading a 100 MiB streamed answer just past the limit and drops the connection", async function () {
    let sentBytes: Promise<number> = Promise.resolve(0);
    const { url } = await serve((_req, res) => {
      sentBytes = streamHuge(res, 100 * MiB);
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const error = await requestJson(url, { capsules: [] }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeAnswerTooLargeError);
    expect((error as Error).message).to.match(/answer too large: \d+ bytes received, more than the 262144-byte limit/);
    // The server could push only what fits in the socket buffers before Bob hung up, not the 100 MiB.
    const sent = await sentBytes;
    expect(sent).to.be.lessThan(32 * MiB);
    // Bob held at most the limit and a chunk: the heap did not grow by anything like the answer's size.
    expect(process.memoryUsage().heapUsed - heapBefore).to.be.lessThan(32 * MiB);
  });

  it("refuses an answer whose Content-Length is over the limit without reading it", async function () {
    let sentBytes: Promise<number> = Promise.resolve(0);
    const { url } = await serve((_req, res) => {
      sentBytes = streamHuge(res, 100 * MiB, { "content-length": 100 * MiB + 8 });
    });
    const error = await requestJson(url, undefined, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeAnswerTooLargeError);
    expect((error as Error).message).to.match(/declares 104857608 bytes/);
    expect(await sentBytes).to.be.lessThan(32 * MiB);
  });

  it("bounds error answers too (a huge 500 body)", async function () {
    const { url } = await serve((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ statusCode: 500, code: "X", error: "y".repeat(2 * MAX_ANSWER_BYTES) }));
    });
    const error = await requestJson(url, {}, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeAnswerTooLargeError);
  });

  it("honours a smaller maxBytes, and reads an answer exactly at the limit", async function () {
    const answer = JSON.stringify({ x: "a".repeat(1000) });
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    });
    const atLimit = await requestJson<{ x: string }>(url, {}, { timeoutMs: 10_000, maxBytes: answer.length });
    expect(atLimit.x).to.have.length(1000);
    const error = await requestJson(url, {}, { timeoutMs: 10_000, maxBytes: answer.length - 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NodeAnswerTooLargeError);
  });

  it("a body that stalls after the headers fails with the deadline, as unreachable", async function () {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"cfrags":['); // and never more
    });
    const error = await requestJson(url, {}, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeUnreachableError);
    expect((error as Error).message).to.match(/no answer within 300 ms/);
  });

  it("still parses real answers and names a refusal's code", async function () {
    const { url } = await serve((req, res) => {
      if (req.url === "/ok") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ operator: "0x00", cfrags: [] }));
      } else {
        res.writeHead(410, { "content-type": "application/json" });
        res.end(JSON.stringify({ statusCode: 410, code: "POLICY_REVOKED", error: "revoked" }));
      }
    });
    expect(await requestJson(`${url}/ok`, {}, { timeoutMs: 10_000 })).to.deep.equal({ operator: "0x00", cfrags: [] });
    const error = await requestJson(`${url}/gone`, {}, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NodeRefusedError);
    expect((error as NodeRefusedError).code).to.equal("POLICY_REVOKED");
    expect((error as NodeRefusedError).retryAfterSeconds).to.equal(undefined);
  });

  it("reads a busy node's Retry-After, in seconds or as an HTTP date", async function () {
    const { url } = await serve((_req, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "3" });
      res.end(JSON.stringify({ statusCode: 503, code: "OVERLOADED", error: "busy" }));
    });
    const error = await requestJson(`${url}/x`, {}, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((error as NodeRefusedError).retryAfterSeconds).to.equal(3);
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(retryAfterSeconds("Thu, 01 Jan 2026 12:00:07 GMT", now)).to.equal(7);
    expect(retryAfterSeconds("Thu, 01 Jan 2026 11:00:00 GMT", now)).to.equal(0);
    expect(retryAfterSeconds(" 12 ", now)).to.equal(12);
    for (const bad of [null, "", "soon", "-1", "1.5"])
      expect(retryAfterSeconds(bad, now), String(bad)).to.equal(undefined);
  });
});
