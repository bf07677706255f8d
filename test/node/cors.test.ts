// CORS on the node's public endpoints (issue 18): pages of an allowed origin may call the status, delivery and
// re-encryption routes (preflight for JSON POSTs included) and read Retry-After on refusals; other origins get
// no CORS headers; a node without `corsOrigins` sends none; `/metrics` never does. Hermetic: app.inject only.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildNodeServer, CorsOriginError, parseCorsOrigins, type NodeServerLimits } from "../../src/node/server";
import { KFragStore } from "../../src/node/store";
import type { PolicyView } from "../../src/network/chain";
import { closedAfterEach, testIdentity } from "./fixture";

const POLICY_ID = "0x" + "ab".repeat(16);
const APP = "https://app.example.org";

describe("node CORS", function () {
  this.timeout(30_000);
  const open = closedAfterEach();

  async function start(corsOrigins?: string[], limits: Partial<NodeServerLimits> = {}) {
    const store = (open.store = await KFragStore.open(mkdtempSync(path.join(tmpdir(), "kms-cors-"))));
    const policies: PolicyView = { getPolicy: async () => undefined, currentPeriod: async () => 1n };
    const app = (open.app = buildNodeServer({
      identity: testIdentity(),
      store,
      policies,
      limits: { refusalDelayMs: 0, ...limits },
      corsOrigins,
      workers: 0,
    }));
    await app.ready();
    return app;
  }

  const reencryptUrl = `/v1/policies/${POLICY_ID}/reencrypt`;

  it("answers an allowed origin on the public endpoints, with Retry-After exposed", async function () {
    const node = await start([APP, "http://localhost:8080"]);
    for (const url of ["/v1/status", "/status"]) {
      const answer = await node.inject({ method: "GET", url, headers: { origin: APP } });
      expect(answer.statusCode).to.equal(200);
      expect(answer.headers["access-control-allow-origin"]).to.equal(APP);
      expect(answer.headers["vary"]).to.match(/origin/i);
    }
    // A refusal carries the headers too: the page can read its code and Retry-After.
    const refused = await node.inject({
      method: "POST",
      url: reencryptUrl,
      headers: { origin: "http://localhost:8080", "content-type": "application/json" },
      payload: { capsules: ["0x00"] },
    });
    expect(refused.statusCode).to.equal(404);
    expect(refused.headers["access-control-allow-origin"]).to.equal("http://localhost:8080");
    expect(String(refused.headers["access-control-expose-headers"]).split(",")).to.include("retry-after");
  });

  it("answers the preflight of a JSON POST from an allowed origin, and not from another", async function () {
    const node = await start([APP]);
    for (const url of [reencryptUrl, `/v1/policies/${POLICY_ID}/kfrag`]) {
      const preflight = await node.inject({
        method: "OPTIONS",
        url,
        headers: {
          origin: APP,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(preflight.statusCode).to.equal(204);
      expect(preflight.headers["access-control-allow-origin"]).to.equal(APP);
      expect(String(preflight.headers["access-control-allow-methods"])).to.include("POST");
      expect(String(preflight.headers["access-control-allow-headers"]).toLowerCase()).to.include("content-type");
    }
    const other = await node.inject({
      method: "OPTIONS",
      url: reencryptUrl,
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(other.headers["access-control-allow-origin"]).to.equal(undefined);
  });

  it("sends no CORS headers to other origins, none by default, and none on /metrics", async function () {
    let node = await start([APP]);
    const other = await node.inject({ method: "GET", url: "/v1/status", headers: { origin: "https://evil.example" } });
    expect(other.statusCode).to.equal(200);
    expect(other.headers["access-control-allow-origin"]).to.equal(undefined);
    const metrics = await node.inject({ method: "GET", url: "/metrics", headers: { origin: APP } });
    expect(metrics.statusCode).to.equal(200);
    expect(metrics.headers["access-control-allow-origin"]).to.equal(undefined);
    await open.app!.close();
    await open.store!.close();
    node = await start();
    const plain = await node.inject({ method: "GET", url: "/v1/status", headers: { origin: APP } });
    expect(plain.headers["access-control-allow-origin"]).to.equal(undefined);
  });

  it("allows every origin with *", async function () {
    const node = await start(["*"]);
    const answer = await node.inject({ method: "GET", url: "/v1/status", headers: { origin: "https://any.example" } });
    expect(answer.headers["access-control-allow-origin"]).to.equal("*");
  });

  it("puts CORS headers on rate-limit and overload refusals", async function () {
    const node = await start([APP], { rateMax: 1, retryAfterSeconds: 3 });
    await node.inject({ method: "GET", url: "/v1/status", headers: { origin: APP } });
    const limited = await node.inject({ method: "GET", url: "/v1/status", headers: { origin: APP } });
    expect(limited.statusCode).to.equal(429);
    expect(limited.headers["access-control-allow-origin"]).to.equal(APP);
    expect(limited.headers["retry-after"]).to.not.equal(undefined);
  });

  it("refuses origins that are not web origins, with a sentence", function () {
    expect(parseCorsOrigins([" https://a.example , http://localhost:3000", "*"])).to.deep.equal([
      "https://a.example",
      "http://localhost:3000",
      "*",
    ]);
    expect(parseCorsOrigins([])).to.deep.equal([]);
    for (const bad of ["https://a.example/", "a.example", "ftp://a.example", "https://a.example/app"]) {
      expect(() => parseCorsOrigins([bad])).to.throw(CorsOriginError, /not a web origin/);
    }
  });
});
