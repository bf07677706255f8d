// Running the real `hardhat kms …` commands as child processes against a chain process of the test's own:
// `hardhat node` on a free loopback port, deployments recorded in a temporary directory (./hardhat.config.ts).
// Every child has a deadline and is killed with its process group; the chain is stopped by the test's `after`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const HARDHAT = path.join(ROOT, "node_modules", ".bin", "hardhat");
const CONFIG = path.join(__dirname, "hardhat.config.ts");

/** What a finished command printed and how it exited. */
export interface CommandResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Kills `child` and everything it started (it leads its own process group). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** One test's world: a temporary directory, a chain URL, and the environment every command runs with. */
export class CliWorld {
  readonly dir = mkdtempSync(path.join(tmpdir(), "kms-cli-"));
  readonly ignitionDir = path.join(this.dir, "ignition");
  rpcUrl = "";
  private chain?: ChildProcess;

  constructor() {
    // Ignition only loads modules from <ignition dir>/modules: link the project's there.
    mkdirSync(path.join(this.ignitionDir, "modules"), { recursive: true });
    symlinkSync(path.join(ROOT, "ignition", "modules", "KMS.ts"), path.join(this.ignitionDir, "modules", "KMS.ts"));
  }

  /** A file path inside the test's directory. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** The environment of every child: headless (Hardhat then takes the machine for CI), no verbosity. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", KMS_CLI_RPC_URL: this.rpcUrl };
    env.KMS_CLI_IGNITION_DIR = this.ignitionDir;
    for (const name of ["DISPLAY", "WAYLAND_DISPLAY", "KMS_VERBOSE", "KMS_EPHEMERAL", "HARDHAT_NETWORK"]) {
      delete env[name];
    }
    return { ...env, ...extra };
  }

  /** Starts `hardhat node` on a free loopback port and waits until it serves JSON-RPC. */
  async startChain(timeoutMs = 90_000): Promise<void> {
    const port = await freePort();
    this.rpcUrl = `http://127.0.0.1:${port}`;
    const chain = spawn(HARDHAT, ["--config", CONFIG, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT,
      env: this.env(),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.chain = chain;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => {
        killGroup(chain);
        reject(new Error(`hardhat node did not start within ${timeoutMs} ms: ${output.slice(-500)}`));
      }, timeoutMs);
      const onData = (data: Buffer) => {
        output += data.toString();
        if (output.includes("Started HTTP and WebSocket JSON-RPC server")) {
          clearTimeout(timer);
          chain.stdout!.removeListener("data", onData);
          chain.stdout!.resume();
          resolve();
        }
      };
      chain.stdout!.on("data", onData);
      chain.stderr!.on("data", (data: Buffer) => (output += data.toString()));
      chain.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`hardhat node exited (${code}): ${output.slice(-500)}`));
      });
    });
  }

  /** Stops the chain process, if one runs, and waits for it to be gone. */
  async stopChain(): Promise<void> {
    const chain = this.chain;
    this.chain = undefined;
    if (!chain || chain.exitCode !== null || chain.signalCode !== null) return;
    const gone = new Promise((resolve) => chain.once("exit", resolve));
    killGroup(chain);
    await gone;
  }

  /** Spawns `hardhat --network localhost <args>` without waiting (e.g. to interrupt it). */
  spawn(args: string[], options: { network?: string; env?: Record<string, string> } = {}): ChildProcess {
    const full = ["--config", CONFIG, "--network", options.network ?? "localhost", ...args];
    return spawn(HARDHAT, full, { cwd: ROOT, env: this.env(options.env), detached: true, stdio: "pipe" });
  }

  /** Runs `hardhat --network localhost kms <args>` to its end (killed after `timeoutMs`). */
  kms(
    args: string[],
    options: { network?: string; env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    const child = this.spawn(["kms", ...args], options);
    return finished(child, ["kms", ...args], options.timeoutMs ?? 90_000);
  }

  /** Runs any hardhat command (e.g. `ignition deploy`) to its end. */
  hardhat(args: string[], timeoutMs = 120_000): Promise<CommandResult> {
    return finished(this.spawn(args), args, timeoutMs);
  }
}

/** Resolves when `child` exits, with what it printed; kills it after `timeoutMs`. */
export function finished(child: ChildProcess, args: string[], timeoutMs: number): Promise<CommandResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr });
    });
  });
}

/** Runs `jobs` with at most `limit` at a time, in order of their results. */
export async function inParallel<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
