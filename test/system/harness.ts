// The system tests' harness: real OS processes on loopback. A chain (`npx hardhat node` or Foundry's anvil),
// `npx hardhat kms …` commands, `kms node` daemons, and a TCP relay that can cut one node off its chain.
// Every process is started in its own process group and every group is killed when the harness closes, on
// failure too; every wait has a deadline.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { JsonRpcProvider, Network, type Signer } from "ethers";
import {
  Adjudicator__factory,
  KMSToken__factory,
  NodeDirectory__factory,
  PolicyManager__factory,
  StakingEscrow__factory,
} from "../../typechain-types";

export const ROOT = path.resolve(__dirname, "..", "..");

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns something other than undefined, for at most `ms`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

/** Environment changes for a child: a value sets the variable, undefined removes it. */
export type Env = Record<string, string | undefined>;

/** A process started by the harness, with its output kept. */
export class Proc {
  output = "";
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => (this.output += chunk.toString());
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      }),
    );
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits until the output matches `pattern`; fails early if the process exits first. */
  async waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
    return eventually(
      `${this.name} to print ${pattern}`,
      async () => {
        const match = this.output.match(pattern);
        if (match) return match;
        if (!this.running) throw new Error(`${this.name} exited ${this.exitCode}:\n${this.output.slice(-3000)}`);
        return undefined;
      },
      ms,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- ${this.name} output ---\n${this.output.slice(-3000)}`);
    });
  }

  /** Sends `signal` to the whole process group (npx and the node process under it). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Whether any process of the group is still alive (npx may exit before the node process under it). */
  groupAlive(): boolean {
    if (this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the group, then SIGKILL to whatever of it is left after `graceMs`; resolves once all is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.groupAlive()) return;
    this.signal("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (this.groupAlive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (this.child.pid !== undefined && this.groupAlive()) {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await this.exited;
  }
}

/** Starts processes and stops every one of them at close. */
export class Harness {
  private readonly procs: Proc[] = [];

  /** Starts `command` in its own process group with `env` applied to the environment (undefined: removed). */
  start(name: string, command: string, args: string[], env: Env = {}, input?: string): Proc {
    const merged: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" };
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
    const child = spawn(command, args, {
      cwd: ROOT,
      env: merged,
      detached: true,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (input !== undefined) child.stdin!.end(input);
    const proc = new Proc(name, child);
    this.procs.push(proc);
    return proc;
  }

  /** Runs `npx hardhat <args>` to its end within `ms` (killed after); resolves with its exit code and output. */
  async hardhat(
    args: string[],
    env: Env,
    ms = 120_000,
    input?: string,
  ): Promise<{ code: number | null; output: string }> {
    const proc = this.start(`hardhat ${args.slice(0, 2).join(" ")}`, "npx", ["hardhat", ...args], env, input);
    const timer = setTimeout(() => proc.signal("SIGKILL"), ms);
    const code = await proc.exited;
    clearTimeout(timer);
    return { code, output: proc.output };
  }

  /** Like {@link hardhat}, but fails with the output unless the command exits 0. */
  async hardhatOk(args: string[], env: Env, ms = 120_000): Promise<string> {
    const { code, output } = await this.hardhat(args, env, ms);
    if (code !== 0) throw new Error(`npx hardhat ${args.join(" ")} exited ${code}:\n${output.slice(-4000)}`);
    return output;
  }

  /** Stops every process still running, each group SIGTERM then SIGKILL. */
  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(3_000)));
  }
}

/**
 * A TCP relay from a loopback port to `target`: what a node's "RPC URL" points at, so a test can take the
 * chain away from that node alone (`cut`: live connections reset, new ones refused) and give it back.
 */
export class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  static async open(target: number): Promise<Relay> {
    const relay = new Relay(await freePort(), target);
    await relay.restore();
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens again (connections are relayed to the target). */
  restore(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((client) => {
        const upstream = net.connect(this.target, "127.0.0.1");
        for (const socket of [client, upstream]) {
          this.sockets.add(socket);
          socket.once("close", () => this.sockets.delete(socket));
          socket.on("error", () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.once("close", () => upstream.destroy());
        upstream.once("close", () => client.destroy());
      });
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        this.server = server;
        resolve();
      });
    });
  }

  /** Stops listening and resets every relayed connection: the chain is unreachable through the relay. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.cut();
  }
}

/** Where Foundry's anvil was installed from npm, or undefined on a platform without its package. */
export function anvilBinary(): string | undefined {
  const bin = path.join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "anvil.cmd" : "anvil");
  return existsSync(bin) ? bin : undefined;
}

/** How a chain client is started: on `port`, serving `chainId`, with at least ten funded unlocked accounts. */
export interface ChainClient {
  name: string;
  start(harness: Harness, port: number, chainId: number): Proc;
}

/** Hardhat's own chain as a process of its own, with the chain id given (KMS_CHAIN_ID, see hardhat.config.ts). */
export const hardhatNode: ChainClient = {
  name: "npx hardhat node",
  start: (harness, port, chainId) =>
    harness.start("hardhat node", "npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      KMS_CHAIN_ID: String(chainId),
      HARDHAT_NETWORK: undefined,
    }),
};

/** A chain process started by {@link startChain}. */
export interface ChainProcess {
  url: string;
  chainId: number;
  provider: JsonRpcProvider;
  /** For `npx hardhat … --network chain` against it (the `chain` network reads KMS_CHAIN_URL). */
  env: Env;
  /** The contracts of the system deployed on it with Ignition, as `signer` sees them. */
  contracts(signer: Signer): DeployedContracts;
  /** Ends the provider and removes the chain's Ignition deployment (the process itself stops with the harness). */
  close(): void;
}

export type DeployedContracts = ReturnType<typeof connectDeployed>;

function connectDeployed(addresses: Record<string, string>, signer: Signer) {
  return {
    token: KMSToken__factory.connect(addresses["KMS#KMSToken"], signer),
    escrow: StakingEscrow__factory.connect(addresses["KMS#StakingEscrow"], signer),
    policyManager: PolicyManager__factory.connect(addresses["KMS#PolicyManager"], signer),
    nodeDirectory: NodeDirectory__factory.connect(addresses["KMS#NodeDirectory"], signer),
    adjudicator: Adjudicator__factory.connect(addresses["KMS#Adjudicator"], signer),
  };
}

/**
 * Starts `client` on a free port with a chain id of its own (so its Ignition deployment touches no other) and
 * resolves once it answers with that id.
 */
export async function startChain(harness: Harness, client: ChainClient = hardhatNode): Promise<ChainProcess> {
  const chainId = 40_000 + Math.floor(Math.random() * 20_000);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const chain = client.start(harness, port, chainId);
  const provider = new JsonRpcProvider(url, Network.from(chainId), { staticNetwork: true, pollingInterval: 100 });
  const deployment = path.join(ROOT, "ignition", "deployments", `chain-${chainId}`);
  const close = () => {
    provider.destroy();
    rmSync(deployment, { recursive: true, force: true });
    try {
      rmdirSync(path.dirname(deployment)); // Ignition made the folder if there was none: leave none behind
    } catch {
      // Not empty: other deployments live there.
    }
  };
  try {
    await eventually(
      `${client.name} to answer on ${url}`,
      async () => {
        if (!chain.running) throw new Error(`${client.name} exited:\n${chain.output.slice(-2000)}`);
        return (await provider.send("eth_chainId", [])) === `0x${chainId.toString(16)}` ? true : undefined;
      },
      120_000,
    );
  } catch (e) {
    close();
    throw e;
  }
  return {
    url,
    chainId,
    provider,
    // A HARDHAT_NETWORK left in the environment (the README exports one) would override `--network`: removed.
    env: { KMS_CHAIN_URL: url, HARDHAT_NETWORK: undefined, HARDHAT_IGNITION_CONFIRM_DEPLOYMENT: "true" },
    contracts: (signer) =>
      connectDeployed(
        JSON.parse(readFileSync(path.join(deployment, "deployed_addresses.json"), "utf8")) as Record<string, string>,
        signer,
      ),
    close,
  };
}
