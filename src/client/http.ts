// Talking to nodes over HTTP: JSON in, JSON out, a deadline on every request, a bound on every answer's size,
// and errors that name the node and what it said.
import { concatBytes } from "@noble/hashes/utils";
import type { ErrorResponse } from "../network/protocol";

/**
 * Largest answer body a client reads by default. The largest real answer is a re-encryption of 32 capsules:
 * 32 × (381-byte cfrag + 65-byte signature) in hex with JSON framing is about 29 KiB; everything else a node
 * says (status, errors, delivery acknowledgements) is far smaller. 256 KiB leaves room for protocol growth
 * while a hostile node can cost a client no more than that per request.
 */
export const MAX_ANSWER_BYTES = 256 * 1024;

/** Base class of every failure to get an answer from a node. */
export class NodeRequestFailedError extends Error {
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${message}`, options);
    this.name = "NodeRequestFailedError";
  }
}

/** The node could not be reached, or did not answer within the deadline. */
export class NodeUnreachableError extends NodeRequestFailedError {
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(url, `unreachable (${reason})`, options);
    this.name = "NodeUnreachableError";
  }
}

/** The node answered with an error status. */
export class NodeRefusedError extends NodeRequestFailedError {
  constructor(
    url: string,
    readonly statusCode: number,
    readonly code: string,
    readonly reason: string,
    /** The node's Retry-After in seconds, when it sent one (busy: 429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(url, `refused with ${statusCode} ${code}: ${reason}`);
    this.name = "NodeRefusedError";
  }
}

/** The node's answer is larger than any real answer: the client stopped reading it (and dropped the connection). */
export class NodeAnswerTooLargeError extends NodeRequestFailedError {
  constructor(
    url: string,
    readonly limit: number,
    detail: string,
  ) {
    super(url, `answer too large: ${detail}, more than the ${limit}-byte limit; stopped reading`);
    this.name = "NodeAnswerTooLargeError";
  }
}

/** Options of {@link requestJson}. */
export interface RequestOptions {
  /** Deadline for the whole exchange, body included. */
  timeoutMs: number;
  /** Cancels the request (e.g. Bob has enough cfrags). */
  signal?: AbortSignal;
  /** Largest answer body read; default {@link MAX_ANSWER_BYTES}. */
  maxBytes?: number;
}

/**
 * Sends `body` as JSON (or GETs when undefined) and parses the JSON answer, reading at most `maxBytes` of it;
 * throws a NodeRequestFailedError.
 */
export async function requestJson<T>(url: string, body: unknown, options: RequestOptions): Promise<T> {
  const limit = options.maxBytes ?? MAX_ANSWER_BYTES;
  // Our own abort, to drop the connection when an answer runs past the limit.
  const stop = new AbortController();
  const signals = [AbortSignal.timeout(options.timeoutMs), stop.signal];
  if (options.signal) signals.push(options.signal);
  const unreachable = (cause: unknown) => {
    const name = (cause as Error).name;
    const reason = name === "TimeoutError" ? `no answer within ${options.timeoutMs} ms` : (cause as Error).message;
    return new NodeUnreachableError(url, name === "AbortError" ? "request cancelled" : reason, { cause });
  };
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
  } catch (cause) {
    throw unreachable(cause);
  }
  let text: string;
  try {
    text = await readBounded(url, response, limit);
  } catch (error) {
    stop.abort();
    if (error instanceof NodeRequestFailedError) throw error;
    throw unreachable(error);
  }
  let parsed: unknown;
  try {
    parsed = text.length ? JSON.parse(text) : undefined;
  } catch {
    throw new NodeRequestFailedError(url, `answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as Partial<ErrorResponse>;
    throw new NodeRefusedError(
      url,
      response.status,
      error.code ?? "UNKNOWN",
      error.error ?? text.slice(0, 200),
      retryAfterSeconds(response.headers.get("retry-after")),
    );
  }
  return parsed as T;
}

/**
 * Reads `response`'s body as UTF-8, chunk by chunk, and throws {@link NodeAnswerTooLargeError} as soon as it
 * declares or delivers more than `limit` bytes: memory spent on one answer never exceeds the limit plus one chunk.
 */
async function readBounded(url: string, response: Response, limit: number): Promise<string> {
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new NodeAnswerTooLargeError(url, limit, `declares ${declared} bytes`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > limit) throw new NodeAnswerTooLargeError(url, limit, `${received} bytes received`);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  return new TextDecoder().decode(concatBytes(...chunks));
}

/**
 * A Retry-After header's wait in whole seconds (RFC 9110: a number of seconds or an HTTP date), or undefined
 * when there is none or it cannot be read.
 */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  // Anything else must be a date (a day name first); "-1" or "1.5" would parse as dates too.
  if (!/^[A-Za-z]{3},/.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
