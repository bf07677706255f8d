// The relay's HTTP client (fetch; server-sent events read from the response body). Runtime-neutral.
import { RelayRefusedError, RelayUnreachableError } from "./errors";
import type { ChatEntry, LoggedEntry, RoomState } from "./format";

export class RelayClient {
  readonly url: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RelayUnreachableError(`${url} is not a relay URL (http://host:port)`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new RelayUnreachableError(`${url} is not an http(s) relay URL`);
    }
    this.url = parsed.href.replace(/\/$/, "");
  }

  private async call<T>(path: string, init?: RequestInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        ...init,
        headers: init?.body ? { "content-type": "application/json" } : undefined,
      });
    } catch (error) {
      throw new RelayUnreachableError(`the relay ${this.url} cannot be reached: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const text = await response.text();
    let body: { code?: string; error?: string } & Record<string, unknown>;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RelayRefusedError(
        response.status,
        "NOT_A_RELAY",
        `${this.url} answered ${response.status} with no relay JSON`,
      );
    }
    if (!response.ok) {
      throw new RelayRefusedError(
        response.status,
        body.code ?? "REFUSED",
        `the relay refused: ${body.error ?? response.statusText}`,
      );
    }
    return body as T;
  }

  createRoom(state: RoomState): Promise<{ roomId: string; seq: number }> {
    return this.call("/v1/rooms", { method: "POST", body: JSON.stringify(state) });
  }

  room(roomId: string): Promise<{ state: RoomState; head: number }> {
    return this.call(`/v1/rooms/${roomId}`);
  }

  post(roomId: string, entry: ChatEntry): Promise<{ seq: number }> {
    return this.call(`/v1/rooms/${roomId}/entries`, { method: "POST", body: JSON.stringify(entry) });
  }

  entries(roomId: string, after = -1, limit = 500): Promise<{ entries: LoggedEntry[]; head: number }> {
    return this.call(`/v1/rooms/${roomId}/entries?after=${after}&limit=${limit}`);
  }

  /** Every logged entry after `after`, page by page. */
  async *history(roomId: string, after = -1): AsyncGenerator<LoggedEntry> {
    for (;;) {
      const { entries } = await this.entries(roomId, after);
      yield* entries;
      if (entries.length === 0) return;
      after = entries[entries.length - 1].seq;
    }
  }

  /** Entries logged after `after`, live, until `signal` aborts (then it returns). */
  async *events(roomId: string, after: number, signal: AbortSignal): AsyncGenerator<LoggedEntry> {
    let response: Response;
    try {
      response = await fetch(`${this.url}/v1/rooms/${roomId}/events?after=${after}`, { signal });
    } catch (error) {
      if (signal.aborted) return;
      throw new RelayUnreachableError(`the relay ${this.url} cannot be reached: ${(error as Error).message}`);
    }
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => ({}))) as { code?: string; error?: string };
      throw new RelayRefusedError(
        response.status,
        body.code ?? "REFUSED",
        `the relay refused: ${body.error ?? response.statusText}`,
      );
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split("\n")
            .filter((line) => line.startsWith("data: "))
            .map((line) => line.slice(6))
            .join("\n");
          if (data) yield JSON.parse(data) as LoggedEntry;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new RelayUnreachableError(`the relay ${this.url} closed the stream: ${(error as Error).message}`);
    } finally {
      reader.releaseLock();
    }
  }
}
