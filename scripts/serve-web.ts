// `npm run web`: builds the web app (scripts/build-web.ts), writes its config.json — the chain's RPC URL and
// the addresses `hardhat ignition deploy` recorded for that chain — and serves dist/web/ as static files.
// Nothing else runs here: the pages talk to the chain's JSON-RPC and to the nodes directly, and dist/web/
// (config.json included) can be hosted by any static web server instead.
//
//   npm run web -- [--rpc http://127.0.0.1:8545] [--port 8080] [--host 127.0.0.1] [--no-build]
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { buildWeb } from "./build-web";

const ROOT = path.resolve(__dirname, "..");
const WEB_DIR = path.join(ROOT, "dist", "web");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
};
const FIELDS = {
  token: "KMSToken",
  escrow: "StakingEscrow",
  nodeDirectory: "NodeDirectory",
  policyManager: "PolicyManager",
  adjudicator: "Adjudicator",
} as const;

/** Raised for a chain or deployment the app cannot be configured for; the message says what to do. */
export class WebConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebConfigError";
  }
}

/** Asks `rpcUrl` for its chain id. */
async function chainIdOf(rpcUrl: string): Promise<number> {
  try {
    const answer = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(10_000),
    });
    return Number(((await answer.json()) as { result: string }).result);
  } catch (error) {
    throw new WebConfigError(`cannot reach the chain at ${rpcUrl}: ${(error as Error).message}`);
  }
}

/** config.json (web/app/context.ts reads it). */
export interface WebConfig {
  chainId: number;
  rpcUrl: string;
  network: string;
  addresses: Record<keyof typeof FIELDS, string>;
}

/** Writes dist/web/config.json for the chain at `rpcUrl` from its Ignition deployment; returns the config. */
export async function writeWebConfig(rpcUrl: string, network = "localhost"): Promise<WebConfig> {
  const chainId = await chainIdOf(rpcUrl);
  const file = path.join(ROOT, "ignition", "deployments", `chain-${chainId}`, "deployed_addresses.json");
  if (!existsSync(file)) {
    throw new WebConfigError(
      `no umbral-kms deployment recorded for chain ${chainId} (looked in ${file}); deploy first: ` +
        `npx hardhat ignition deploy ignition/modules/KMS.ts --network ${network}`,
    );
  }
  const recorded = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const addresses = {} as WebConfig["addresses"];
  for (const [field, name] of Object.entries(FIELDS)) {
    if (!recorded[`KMS#${name}`]) throw new WebConfigError(`${file} records no KMS#${name}: redeploy`);
    addresses[field as keyof typeof FIELDS] = recorded[`KMS#${name}`];
  }
  const config: WebConfig = { chainId, rpcUrl, network, addresses };
  writeFileSync(path.join(WEB_DIR, "config.json"), JSON.stringify(config, null, 2) + "\n");
  return config;
}

/** A static server of dist/web/ on `host:port` (0: a free port); resolves once it listens. */
export async function serveWeb(
  options: { host?: string; port?: number } = {},
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const file = path.join(WEB_DIR, pathname === "/" ? "index.html" : pathname);
    // Only files inside dist/web/, only GET and HEAD.
    const inside = file.startsWith(WEB_DIR + path.sep);
    if (!inside || !["GET", "HEAD"].includes(request.method ?? "") || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(inside ? 404 : 403, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    response.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": statSync(file).size,
      "cache-control": "no-cache",
    });
    if (request.method === "HEAD") response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return { url: `http://${address}:${port}/`, server };
}

/** The value after `--name`, or `fallback`. */
function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

async function main(): Promise<void> {
  if (!process.argv.includes("--no-build")) {
    const built = await buildWeb({ declarations: false });
    console.log(`built dist/web/ (library ${(built.gzipBytes / 1024).toFixed(1)} KiB gzip)`);
  }
  const rpcUrl = arg("rpc", "http://127.0.0.1:8545");
  const config = await writeWebConfig(rpcUrl, arg("network", "localhost"));
  const port = Number(arg("port", "8080"));
  const { url } = await serveWeb({ host: arg("host", "127.0.0.1"), port });
  console.log(`chain ${String(config.chainId)} at ${rpcUrl}; serving the web app at ${url}`);
  console.log(`nodes must allow this origin: npx hardhat kms node … --cors-origin ${url.replace(/\/$/, "")}`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  });
}
