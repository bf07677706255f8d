// The client side of scripts/bench-flood.ts, in its own process so that the flood's CPU is not the node's:
// an honest client sending one 1-capsule request every `honestIntervalMs`, and (unless `attackers` is 0) a
// flood of 32-capsule requests on `attackers` keep-alive connections that retry at once whatever the answer.
// Loopback only, for `durationMs`; prints one JSON line with what it saw.
import http from "node:http";

interface FloodConfig {
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
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", () => resolve(-1));
      },
    );
    request.on("error", () => resolve(-1));
    request.end(body);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FLOOD_CONFIG ?? "") as FloodConfig;
  const url = new URL(config.url);
  if (url.hostname !== "127.0.0.1") throw new Error("flood-client: loopback only");
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
