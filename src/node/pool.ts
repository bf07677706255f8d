// The node's pool of worker threads for re-encryption (piscina): one task per request, carrying all its
// capsules and the policy's kfrag as bytes (each worker verifies a kfrag once and keeps it); the operator's
// secret key, when it is a local key, is handed to the workers once at their start so they sign the cfrag
// attestations too. The queue of tasks waiting for a worker is bounded: past it the pool refuses at once
// (PoolBusyError, the server's 503 + Retry-After), so a flood never grows memory without bound. Small requests
// (Bob's: one capsule per file) and large ones wait in two lanes served in turn, so a queue of 32-capsule
// requests delays a small one by at most one of them per worker. A worker that dies fails its task
// (PoolWorkerError) and piscina starts another in its place.
import { availableParallelism } from "node:os";
import path from "node:path";
import { Piscina, type PiscinaTask, type TaskQueue } from "piscina";
import type { AttestationDomain } from "../slashing/evidence";
import { SMALL_REQUEST_CAPSULES } from "./admission";
import { WORKER_READY, type PoolWorkerData, type ReencryptOutcome, type ReencryptTask } from "./pool-task";

/** The default pool size: one worker per core the process may use. */
export const defaultWorkerCount = (): number => availableParallelism();

export interface ReencryptionPoolOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  /** Most tasks (requests) waiting for a worker; past it `run` throws PoolBusyError. */
  maxQueue: number;
  /** The operator's secret key when it is a local key (the workers sign); else the caller signs. */
  operatorKey?: string;
  attestation: AttestationDomain;
  /** Tests only: a module wrapping src/node/pool-task (to slow or crash a worker). */
  taskModule?: string;
}

/** The pool's queue is full: the node is overloaded (503 + Retry-After). */
export class PoolBusyError extends Error {
  constructor(readonly queued: number) {
    super(`the node's re-encryption queue is full (${queued} requests waiting)`);
    this.name = "PoolBusyError";
  }
}

/** A worker failed while running the task (it crashed or was terminated); a new one takes its place. */
export class PoolWorkerError extends Error {
  constructor(options: { cause: unknown }) {
    super(`a re-encryption worker failed: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = "PoolWorkerError";
  }
}

const LANE = Symbol.for("umbral-kms.pool.lane");

type QueuedTask = PiscinaTask & { [Piscina.queueOptionsSymbol]?: { [LANE]?: "small" | "large" } };

/** Piscina's task queue with two lanes, small and large requests, taken from in turn. */
class LaneQueue implements TaskQueue {
  private readonly small: PiscinaTask[] = [];
  private readonly large: PiscinaTask[] = [];
  private takeSmall = true;

  get size(): number {
    return this.small.length + this.large.length;
  }

  private laneOf(task: PiscinaTask): PiscinaTask[] {
    const options = (task as QueuedTask)[Piscina.queueOptionsSymbol];
    return options?.[LANE] === "large" ? this.large : this.small;
  }

  push(task: PiscinaTask): void {
    this.laneOf(task).push(task);
  }

  shift(): PiscinaTask | null {
    const first = this.takeSmall ? this.small : this.large;
    const second = this.takeSmall ? this.large : this.small;
    this.takeSmall = !this.takeSmall;
    return first.shift() ?? second.shift() ?? null;
  }

  remove(task: PiscinaTask): void {
    const lane = this.laneOf(task);
    const at = lane.indexOf(task);
    if (at >= 0) lane.splice(at, 1);
  }
}

/** Worker threads running re-encryption tasks. */
export class ReencryptionPool {
  private readonly piscina: Piscina<ReencryptTask, ReencryptOutcome>;
  /** Whether the workers sign the attestations (the operator key is a local key). */
  readonly signsInWorkers: boolean;
  private closed = false;
  private readonly started: Promise<void>;

  constructor(options: ReencryptionPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError("the pool needs a whole number of workers ≥ 1");
    }
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 1) {
      throw new RangeError("the pool's queue bound must be a whole number ≥ 1");
    }
    const workerData: PoolWorkerData = {
      operatorKey: options.operatorKey,
      chainId: options.attestation.chainId.toString(),
      adjudicator: options.attestation.adjudicator,
      taskModule: options.taskModule ?? path.join(__dirname, "pool-task"),
    };
    this.signsInWorkers = options.operatorKey !== undefined;
    this.piscina = new Piscina({
      filename: path.join(__dirname, "pool-worker.js"),
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      maxQueue: options.maxQueue,
      taskQueue: new LaneQueue(),
      workerData,
      // Workers inherit no execArgv (the parent's --inspect etc. would clash) and get the parent's env.
      execArgv: [],
    });
    // Resolves once every first worker has loaded its modules; rejects if one fails before that.
    const ready = new Set<number>();
    this.started = new Promise<void>((resolve, reject) => {
      this.piscina.on("message", (message: Record<string, unknown> | null) => {
        const id = message?.[WORKER_READY];
        if (typeof id !== "number") return;
        ready.add(id);
        if (ready.size >= options.workers) resolve();
      });
      // A worker that dies with no task is replaced by piscina; its error must not crash the node.
      this.piscina.on("error", (error: unknown) => reject(new PoolWorkerError({ cause: error })));
    });
    this.started.catch(() => undefined);
  }

  /** Resolves once the workers have started (their modules loaded); rejects if one failed to start. */
  ready(): Promise<void> {
    return this.started;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  /** Worker threads alive now. */
  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Runs one request's capsules on a worker; throws PoolBusyError (queue full) or PoolWorkerError. */
  async run(task: ReencryptTask): Promise<ReencryptOutcome> {
    if (this.closed) throw new PoolWorkerError({ cause: new Error("the pool is closed") });
    if (this.piscina.queueSize >= this.piscina.options.maxQueue) throw new PoolBusyError(this.piscina.queueSize);
    const lane = task.capsules.length <= SMALL_REQUEST_CAPSULES ? "small" : "large";
    const queued = Object.assign({}, task, { [Piscina.queueOptionsSymbol]: { [LANE]: lane } });
    try {
      return await this.piscina.run(queued);
    } catch (e) {
      if ((e as Error)?.message === "Task queue is at limit") throw new PoolBusyError(this.piscina.queueSize);
      throw new PoolWorkerError({ cause: e });
    }
  }

  /** Stops the workers (a task in progress fails with PoolWorkerError); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
