// Admission control for the node's re-encryption work: how many capsules may be in flight in all and per
// client, and a queue that runs the CPU-bound part of each capsule one at a time, in arrival order, giving the
// event loop back between capsules. A flood from one client then costs an honest client at most a few
// capsules' wait, and a flood from many is refused (503 + Retry-After) before it can queue without bound.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** The node's admission limits; every field has a default (DEFAULT_ADMISSION). */
export interface AdmissionLimits {
  /** Most capsules admitted (queued or being re-encrypted) over all clients; past it requests get 503. */
  maxCapsulesInFlight: number;
  /** Most capsules one client (IP address) may have admitted at once; past it its requests get 429. */
  maxCapsulesPerClient: number;
  /** Seconds a refused client is told to wait (`Retry-After`). */
  retryAfterSeconds: number;
  /**
   * A refusal (429 or 503) is answered after this many ms. A client that ignores Retry-After then gets at most
   * one refusal per connection per delay, so refusing a flood costs the node little; waiting costs nothing.
   */
  refusalDelayMs: number;
}

/**
 * Requests of at most this many capsules (what Bob sends: one capsule per file) may use the whole global cap;
 * larger ones only the first three quarters of it, so a flood of full requests cannot crowd out small ones.
 */
export const SMALL_REQUEST_CAPSULES = 4;

/**
 * 256 capsules in flight is ~1 s of one core's re-encryption work here (docs/bench-network.md): a request
 * admitted at the back of a full queue still finishes well inside Bob's 10 s deadline. 32 per client is one
 * full request: a client gets its fair share of the queue, not more.
 */
export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxCapsulesInFlight: 256,
  maxCapsulesPerClient: 32,
  retryAfterSeconds: 1,
  refusalDelayMs: 1000,
};

/** A request refused for lack of capacity: the node (503) or the client's own share (429) is full. */
export class AdmissionRefusedError extends Error {
  constructor(
    readonly statusCode: 429 | 503,
    readonly code: "CLIENT_BUSY" | "OVERLOADED",
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(message);
    this.name = "AdmissionRefusedError";
  }
}

/** Capsules admitted for one request; `release()` gives them back (idempotent). */
export interface AdmissionTicket {
  release(): void;
}

/** Counts admitted capsules globally and per client, and refuses what would exceed the limits. */
export class WorkAdmission {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(readonly limits: AdmissionLimits = DEFAULT_ADMISSION) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < (name === "refusalDelayMs" ? 0 : 1)) {
        throw new RangeError(`admission limit ${name} must be a whole number ≥ ${name === "refusalDelayMs" ? 0 : 1}`);
      }
    }
  }

  /** Capsules admitted now, over all clients. */
  get inFlight(): number {
    return this.total;
  }

  /** Admits `capsules` capsules for `client`, or throws AdmissionRefusedError (nothing is admitted then). */
  admit(client: string, capsules: number): AdmissionTicket {
    const { maxCapsulesInFlight, maxCapsulesPerClient, retryAfterSeconds } = this.limits;
    const mine = this.perClient.get(client) ?? 0;
    if (mine + capsules > maxCapsulesPerClient) {
      throw new AdmissionRefusedError(
        429,
        "CLIENT_BUSY",
        retryAfterSeconds,
        `this client already has ${mine} capsules in progress (at most ${maxCapsulesPerClient}); ` +
          `retry after ${retryAfterSeconds} s`,
      );
    }
    const cap =
      capsules <= SMALL_REQUEST_CAPSULES
        ? maxCapsulesInFlight
        : maxCapsulesInFlight - Math.floor(maxCapsulesInFlight / 4);
    if (this.total + capsules > cap) {
      throw new AdmissionRefusedError(
        503,
        "OVERLOADED",
        retryAfterSeconds,
        `the node is at capacity (${this.total} capsules in progress); retry after ${retryAfterSeconds} s`,
      );
    }
    this.total += capsules;
    this.perClient.set(client, mine + capsules);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total -= capsules;
        const left = (this.perClient.get(client) ?? capsules) - capsules;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
      },
    };
  }
}

/**
 * Hands out turns at the CPU-bound work one at a time, in the order they were asked for, yielding to the event
 * loop before each turn, so accepting connections, parsing requests and refusing floods go on between turns.
 * A request that takes one turn per capsule is interleaved fairly with every other request in progress: an
 * honest one-capsule request waits for one capsule of each request ahead of it, not for whole requests.
 */
export class CryptoTurns {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /** Resolves when it is the caller's turn, with the function that ends it (idempotent). */
  async turn(): Promise<() => void> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held = true;
    await yieldToEventLoop();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.held = false;
    };
  }

  /** Turns asked for and not yet given. */
  get queued(): number {
    return this.waiting.length;
  }
}
