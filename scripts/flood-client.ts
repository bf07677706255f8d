// The load generator of scripts/bench-flood.ts and scripts/bench-network.ts, in its own process so that its
// CPU is not the node's. Three modes (FLOOD_CONFIG.mode):
// - "flood" (default, bench-flood): an honest client sending one 1-capsule request every `honestIntervalMs`,
//   and (unless `attackers` is 0) a flood of 32-capsule requests on `attackers` keep-alive connections that
//   retry at once whatever the answer, for `durationMs`;
// - "throughput": `requests` requests, `concurrency` in flight (each connection from its own loopback
//   address, as many clients are), back to back;
// - "overload": an open loop offering `rate` requests/s for `durationMs` from `addresses` loopback addresses,
//   whatever the answers (at most `maxOutstanding` unanswered at once; past it a request is counted unsent).
// Loopback only; prints one JSON line with what it saw.
import http from "node:http";

interface ThroughputConfig {
  mode: "throughput";
  url: string;
  body: string;
  requests: number;
  concurrency: number;
}

interface OverloadConfig {
  mode: "overload";
  url: string;
  body: string;
  rate: number;
  durationMs: number;
  addresses: number;
  maxOutstanding: number;
}

interface Answer {
  status: number;
  retryAfter?: string;
}

interface FloodConfig {
  mode?: "flood";
  url: string;
  honestBody: string;
  floodBody: string;
  durationMs: number;
  honestIntervalMs: number;
  attackers: number;
  /** "one": every attacker connection from 127.0.0.2; "many": each from its own address 127.0.0.2, .3, ... */
  attackerAddresses: "one" | "many";
}

function post(agent: http.Agent, url: URL, body: string, localAddress: string): Promise<number> {
  return request(agent, url, body, localAddress).then((answer) => answer.status);
}

function request(agent: http.Agent, url: URL, body: string, localAddress: string): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        const retryAfter = response.headers["retry-after"];
        response.on("end", () => resolve({ status: response.statusCode ?? 0, retryAfter }));
        response.on("error", () => resolve({ status: -1 }));
      },
    );
    request.on("error", () => resolve({ status: -1 }));
    request.end(body);
  });
}

const count = (counts: Record<string, number>, key: number | string) => (counts[key] = (counts[key] ?? 0) + 1);

async function throughput(config: ThroughputConfig, url: URL): Promise<object> {
  const statuses: Record<string, number> = {};
  let sent = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: config.concurrency }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (sent < config.requests) {
        sent++;
        count(statuses, (await request(agent, url, config.body, `127.0.0.${2 + i}`)).status);
      }
      agent.destroy();
    }),
  );
  return { elapsedMs: Number(process.hrtime.bigint() - started) / 1e6, statuses };
}

async function overload(config: OverloadConfig, url: URL): Promise<object> {
  const statuses: Record<string, number> = {};
  const agents = Array.from({ length: config.addresses }, () => new http.Agent({ keepAlive: true, maxSockets: 64 }));
  let sent = 0;
  let unsent = 0;
  let outstanding = 0;
  let refusedWithRetryAfter = 0;
  let refused = 0;
  const answers: Promise<void>[] = [];
  const started = Date.now();
  const stopAt = started + config.durationMs;
  while (Date.now() < stopAt) {
    // Catch up with the schedule: rate × elapsed requests by now.
    const due = Math.floor(((Date.now() - started) / 1000) * config.rate);
    while (sent + unsent < due) {
      if (outstanding >= config.maxOutstanding) {
        unsent++;
        continue;
      }
      const i = (sent + unsent) % config.addresses;
      sent++;
      outstanding++;
      answers.push(
        request(agents[i], url, config.body, `127.0.0.${2 + i}`).then((answer) => {
          outstanding--;
          count(statuses, answer.status);
          if (answer.status === 503 || answer.status === 429) {
            refused++;
            if (answer.retryAfter !== undefined) refusedWithRetryAfter++;
          }
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(answers);
  for (const agent of agents) agent.destroy();
  return { sent, unsent, elapsedMs: Date.now() - started, statuses, refused, refusedWithRetryAfter };
}

async function main(): Promise<void> {
  const parsed = JSON.parse(process.env.FLOOD_CONFIG ?? "") as FloodConfig | ThroughputConfig | OverloadConfig;
  const url = new URL(parsed.url);
  if (url.hostname !== "127.0.0.1") throw new Error("flood-client: loopback only");
  if (parsed.mode === "throughput" || parsed.mode === "overload") {
    const result = parsed.mode === "throughput" ? await throughput(parsed, url) : await overload(parsed, url);
    process.stdout.write(JSON.stringify(result) + "\n");
    return;
  }
  const config = parsed;
  const stopAt = Date.now() + config.durationMs;
  const attackerStatus: Record<string, number> = {};
  const attackers = Array.from({ length: config.attackers }, async (_, i) => {
    const localAddress = config.attackerAddresses === "one" ? "127.0.0.2" : `127.0.0.${2 + i}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (Date.now() < stopAt) {
      const status = await post(agent, url, config.floodBody, localAddress);
      attackerStatus[status] = (attackerStatus[status] ?? 0) + 1;
    }
    agent.destroy();
  });
  const honestAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const honestStatus: Record<string, number> = {};
  const honest = (async () => {
    // Let the flood build up first.
    if (config.attackers > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    while (Date.now() < stopAt) {
      const t0 = process.hrtime.bigint();
      const status = await post(honestAgent, url, config.honestBody, "127.0.0.1");
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      honestStatus[status] = (honestStatus[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, config.honestIntervalMs));
    }
  })();
  await Promise.all([honest, ...attackers]);
  honestAgent.destroy();
  process.stdout.write(JSON.stringify({ latencies, honestStatus, attackerStatus }) + "\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
