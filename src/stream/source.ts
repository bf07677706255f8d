// Where a player reads a stream from: a manifest and segments by relative path. Over HTTP (any static server,
// CORS allowing the page's origin in browsers) here; from a folder in ./source-node.
//
// Runtime-neutral (Node and browsers: the platform's fetch).
import { ManifestError } from "./manifest";

export interface StreamSource {
  /** Where it is, for messages. */
  readonly name: string;
  manifest(): Promise<string>;
  segment(path: string): Promise<Uint8Array>;
}

/** Raised when the storage cannot be read. */
export class StreamSourceError extends ManifestError {}

/** Segments larger than this are refused before they are read whole (16 MiB segments, their tag and nonce). */
const MAX_SEGMENT_BYTES = 16 * 1024 * 1024 + 64;

/** A stream served over HTTP(S) at `manifestUrl`; segments are fetched relative to it. */
export function httpSource(manifestUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): StreamSource {
  let base: URL;
  try {
    base = new URL(manifestUrl);
  } catch {
    throw new StreamSourceError(`${manifestUrl} is not a URL`);
  }
  const get = async (url: URL): Promise<Response> => {
    const answer = await fetchImpl(url).catch((e: Error) => {
      throw new StreamSourceError(`cannot fetch ${url.href}: ${e.message}`);
    });
    if (!answer.ok) throw new StreamSourceError(`${url.href} answered ${answer.status} ${answer.statusText}`);
    const length = Number(answer.headers.get("content-length") ?? 0);
    if (length > MAX_SEGMENT_BYTES) throw new StreamSourceError(`${url.href} is ${length} bytes: too large`);
    return answer;
  };
  return {
    name: base.href,
    manifest: async () => (await get(base)).text(),
    segment: async (path) => new Uint8Array(await (await get(new URL(path, base))).arrayBuffer()),
  };
}
