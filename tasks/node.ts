// Node tasks: run a re-encryption node (`kms node`, also `--recover` from its mnemonic) and check one from
// outside (`kms node-doctor`). Thin: parse arguments, call src/node, print.
import { createInterface } from "node:readline";
import { types } from "hardhat/config";
import { kms } from "./scope";
import { addressFor, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { startNodeRetrying } from "../src/node/daemon";
import { shortReason } from "../src/node/status";
import { formatDoctor, runDoctor } from "../src/node/doctor";
import { LOG_LEVELS, nodeLogger } from "../src/node/logging";
import { CorsOriginError, parseCorsOrigins } from "../src/node/server";
import { defaultWorkerCount } from "../src/node/pool";
import { configuredKeyOf, type ConfiguredAccounts } from "../src/node/operator-key";

/** Raised for a bad `kms node` / `kms node-doctor` argument. */
export class NodeTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeTaskError";
  }
}

/** The first non-empty line of standard input: the recovery phrase, typed (prompted on a terminal) or piped. */
function readRecoveryPhrase(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Type the node's recovery phrase (24 words) and press Enter:\n");
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    lines.on("line", (line) => {
      if (done || line.trim() === "") return;
      done = true;
      lines.close();
      resolve(line);
    });
    lines.on("close", () => {
      if (!done) reject(new NodeTaskError("--recover: no recovery phrase on standard input"));
    });
  });
}

/** The once-only display of a new key's mnemonic. */
function showMnemonic(mnemonic: string, dataDir: string): void {
  const words = mnemonic.split(" ");
  const rows = [];
  for (let i = 0; i < words.length; i += 6) {
    rows.push(
      words
        .slice(i, i + 6)
        .map((w, j) => `${String(i + j + 1).padStart(2)} ${w.padEnd(9)}`)
        .join(" "),
    );
  }
  console.log(
    [
      "",
      "NEW NODE KEY. Its recovery phrase is shown this once and stored nowhere; write it down and keep it offline:",
      "",
      ...rows.map((r) => "  " + r),
      "",
      `If ${dataDir} is lost, \`kms node --recover\` (the phrase on standard input) rebuilds the same key.`,
      "",
    ].join("\n"),
  );
}

/** How many times `kms node` tries to start while its chain cannot be reached (waits 1, 2, 4, 8, 16 s between). */
const START_ATTEMPTS = 6;

kms
  .task("node", "Runs a re-encryption node until SIGINT/SIGTERM: announces itself, commits every period, serves HTTP")
  .addParam(
    "operator",
    "The node's operator: an address or index (#4) of a configured account",
    undefined,
    types.string,
  )
  .addParam("dataDir", "Directory for the node's Umbral key and kfrag store (back it up)", undefined, types.string)
  .addOptionalParam("host", "Interface to listen on", "127.0.0.1", types.string)
  .addOptionalParam("port", "Port to listen on", 9151, types.int)
  .addOptionalParam("publicUrl", "URL to announce (default http://host:port)", undefined, types.string)
  .addOptionalParam("commitInterval", "Seconds between commitment checks", 60, types.int)
  .addOptionalParam("statusInterval", "Seconds between reads of the node's standing for /status", 15, types.int)
  .addOptionalParam("logLevel", `Least severe log level shown: ${LOG_LEVELS.join(", ")}`, "info", types.string)
  .addFlag("jsonLogs", "Log JSON lines (for log collectors) instead of human-readable lines")
  .addOptionalParam(
    "trustProxy",
    "Address of a reverse proxy in front whose X-Forwarded-For is trusted (docs/operations.md)",
    undefined,
    types.string,
  )
  .addOptionalParam(
    "corsOrigin",
    "Web origin(s) whose pages may call this node from a browser, comma-separated (https://app.example.org); * for any",
    undefined,
    types.string,
  )
  .addOptionalParam(
    "workers",
    "Worker threads that re-encrypt and sign (default: one per core; 0: in the main thread)",
    undefined,
    types.int,
  )
  .addFlag("recover", "Rebuild the node's key from its recovery phrase, read from standard input")
  .addFlag("reannounce", "Announce this data dir's key though another is announced (the old key's kfrags are lost)")
  .addFlag("takeOver", "Start though another live node holds this staker's announcement (it loses it)")
  .addFlag("cheat", "Fault injection for slashing demos: return corrupted cfrags (local chains only)")
  .setAction(
    async (
      args: {
        operator: string;
        dataDir: string;
        host: string;
        port: number;
        publicUrl?: string;
        commitInterval: number;
        statusInterval: number;
        logLevel: string;
        jsonLogs: boolean;
        trustProxy?: string;
        corsOrigin?: string;
        workers?: number;
        recover: boolean;
        reannounce: boolean;
        takeOver: boolean;
        cheat: boolean;
      },
      hre,
    ) => {
      const logger = nodeLogger(args.logLevel, { json: args.jsonLogs });
      if (args.commitInterval < 1 || args.statusInterval < 1) {
        throw new NodeTaskError("--commit-interval and --status-interval must be at least 1 second");
      }
      const { chainId } = await hre.ethers.provider.getNetwork();
      if (args.cheat && chainId !== 31337n)
        throw new NodeTaskError("--cheat is for local chains only (chain id 31337)");
      let corsOrigins: string[] = [];
      try {
        corsOrigins = parseCorsOrigins(args.corsOrigin === undefined ? [] : [args.corsOrigin]);
      } catch (e) {
        if (e instanceof CorsOriginError) throw new NodeTaskError(`--cors-origin: ${e.message}`);
        throw e;
      }
      if (args.workers !== undefined && (args.workers < 0 || args.workers > 256)) {
        throw new NodeTaskError("--workers must be between 0 and 256");
      }
      const recoverMnemonic = args.recover ? await readRecoveryPhrase() : undefined;
      const contracts = await loadDeployment(hre);
      const operator = await signerFor(hre, args.operator);
      const operatorKey = configuredKeyOf(hre.network.config.accounts as ConfiguredAccounts, operator.address);
      const node = await startNodeRetrying(
        {
          ...contracts,
          operator,
          operatorKey,
          workers: args.workers,
          dataDir: args.dataDir,
          host: args.host,
          port: args.port,
          publicUrl: args.publicUrl,
          commitIntervalMs: args.commitInterval * 1000,
          statusIntervalMs: args.statusInterval * 1000,
          trustProxy: args.trustProxy,
          corsOrigins,
          logger,
          cheat: args.cheat,
          recoverMnemonic,
          reannounce: args.reannounce,
          takeOver: args.takeOver,
          onNewMnemonic: (mnemonic) => showMnemonic(mnemonic, args.dataDir),
        },
        {
          attempts: START_ATTEMPTS,
          onRetry: (attempt, delayMs, e) =>
            console.error(
              `the chain cannot be reached (${shortReason(e)}); trying again in ${delayMs / 1000} s (retry ${attempt} of ${START_ATTEMPTS - 1})`,
            ),
        },
      );
      console.log(`node of staker ${node.staker} listening at ${node.url} (status page: ${node.url}/status)`);
      const workers = args.workers ?? defaultWorkerCount();
      console.log(
        `${workers === 0 ? "re-encrypting in the main thread" : `${workers} re-encryption worker thread(s)`}; ` +
          (operatorKey
            ? "attestations signed with the operator key in this process"
            : "attestations signed by the network's remote account (slower: give the key as a local account)"),
      );
      await new Promise<void>((resolve) => {
        const shutdown = () => void node.stop().then(resolve);
        process.once("SIGINT", shutdown);
        process.once("SIGTERM", shutdown);
      });
    },
  );

kms
  .task(
    "node-doctor",
    "Checks a node from outside: chain and clock, bond, lock, gas, commitment, announced URL and key",
  )
  .addParam(
    "operator",
    "The node's operator: an address or index (#4) of a configured account",
    undefined,
    types.string,
  )
  .addOptionalParam("periods", "How many next periods the lock and the gas must cover", 7, types.int)
  .setAction(async (args: { operator: string; periods: number }, hre) => {
    if (args.periods < 1) throw new NodeTaskError("--periods must be at least 1");
    const { escrow, nodeDirectory } = await loadDeployment(hre);
    const checks = await runDoctor({
      escrow,
      nodeDirectory,
      provider: hre.ethers.provider,
      operator: await addressFor(hre, args.operator),
      periods: args.periods,
    });
    for (const line of formatDoctor(checks)) console.log(line);
    const failed = checks.filter((c) => !c.ok).length;
    if (failed > 0) throw new NodeTaskError(`${failed} of ${checks.length} checks failed (see above)`);
  });
