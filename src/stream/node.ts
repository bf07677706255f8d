// The stream library in Node: a folder as the publisher's sink and as a player's source, stdin or a file as the
// publisher's input.
import { createReadStream, createWriteStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ManifestError } from "./manifest";
import type { StreamSink } from "./publisher";
import { httpSource, StreamSourceError, type StreamSource } from "./source";

export const MANIFEST_NAME = "manifest.json";

/**
 * A folder the publisher writes into: segments as files, the manifest as `manifest.json` replaced atomically
 * (written beside, then renamed) so a server never serves half of one.
 */
export function folderSink(dir: string): StreamSink {
  mkdirSync(dir, { recursive: true });
  return {
    writeSegment: (name, sealed) => writeFile(path.join(dir, name), sealed, { mode: 0o644 }),
    writeManifest: async (text) => {
      const target = path.join(dir, MANIFEST_NAME);
      const partial = `${target}.${process.pid}.partial`;
      writeFileSync(partial, text, { mode: 0o644 });
      renameSync(partial, target);
    },
  };
}

/** A stream in a folder (or named by its manifest file). */
export function folderSource(location: string): StreamSource {
  const manifestPath = location.endsWith(".json") ? location : path.join(location, MANIFEST_NAME);
  const dir = path.dirname(manifestPath);
  const read = (file: string) =>
    readFile(file).catch((e: NodeJS.ErrnoException) => {
      throw new StreamSourceError(`cannot read ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    });
  return {
    name: manifestPath,
    manifest: async () => (await read(manifestPath)).toString("utf8"),
    segment: async (name) => new Uint8Array(await read(path.join(dir, name))),
  };
}

/** An http(s) URL read over HTTP, anything else as a folder or manifest file. */
export function streamSource(location: string): StreamSource {
  if (/^https?:\/\//i.test(location)) return httpSource(location);
  if (/^[a-z]+:\/\//i.test(location)) throw new ManifestError(`${location}: only http(s) URLs and files are read`);
  return folderSource(location);
}

/** The publisher's input: a file by path, or standard input for "-". */
export function inputStream(input: string): AsyncIterable<Uint8Array> {
  return input === "-" ? process.stdin : createReadStream(input);
}

/**
 * Writes what `segments` yields to `out` (a file, created with mode 0600 and refused if it exists unless
 * `overwrite`; or "-" for standard output) as it comes. On an error the plaintext written so far is kept (a
 * stream refused mid-way keeps what was played) and the error rethrown with `written` set. Stops quietly if
 * standard output is closed (e.g. piped into `head`).
 */
export async function writePlayed(
  segments: AsyncIterable<{ plaintext: Uint8Array }>,
  out: string,
  options: { overwrite?: boolean } = {},
): Promise<{ bytes: number; segments: number }> {
  const sink: Writable =
    out === "-" ? process.stdout : createWriteStream(out, { flags: options.overwrite ? "w" : "wx", mode: 0o600 });
  let closed = false;
  sink.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") closed = true;
  });
  const opened = new Promise<void>((resolve, reject) => {
    if (out === "-") return resolve();
    sink.once("open", () => resolve());
    sink.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new StreamSourceError(
          e.code === "EEXIST" ? `${out} exists (--force replaces it)` : `cannot write ${out}: ${e.message}`,
        ),
      ),
    );
  });
  await opened;
  const done = { bytes: 0, segments: 0 };
  const finish = () => (out === "-" ? Promise.resolve() : new Promise<void>((resolve) => sink.end(() => resolve())));
  try {
    for await (const { plaintext } of segments) {
      if (closed) break;
      if (!sink.write(plaintext))
        await new Promise<void>((resolve) => {
          sink.once("drain", () => resolve());
          sink.once("close", () => resolve()); // a closed pipe drains never
          sink.once("error", () => resolve());
        });
      done.bytes += plaintext.length;
      done.segments++;
    }
  } catch (error) {
    await finish();
    (error as { written?: typeof done }).written = done;
    throw error;
  }
  await finish();
  return done;
}
