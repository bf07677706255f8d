// Talking to nodes over HTTP: JSON in, JSON out, a deadline on every request, and errors that name the
// node and what it said.
import type { ErrorResponse } from "../network/protocol";

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
  ) {
    super(url, `refused with ${statusCode} ${code}: ${reason}`);
    this.name = "NodeRefusedError";
  }
}

/** Sends `body` as JSON (or GETs when undefined) and parses the JSON answer; throws a NodeRequestFailedError. */
export async function requestJson<T>(
  url: string,
  body: unknown,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const signals = [AbortSignal.timeout(options.timeoutMs)];
  if (options.signal) signals.push(options.signal);
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
  } catch (cause) {
    const name = (cause as Error).name;
    const reason = name === "TimeoutError" ? `no answer within ${options.timeoutMs} ms` : (cause as Error).message;
    throw new NodeUnreachableError(url, name === "AbortError" ? "request cancelled" : reason, { cause });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text.length ? JSON.parse(text) : undefined;
  } catch {
    throw new NodeRequestFailedError(url, `answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as Partial<ErrorResponse>;
    throw new NodeRefusedError(url, response.status, error.code ?? "UNKNOWN", error.error ?? text.slice(0, 200));
  }
  return parsed as T;
}
