// Output files that are never lost and never half-written.
//
// Every file a client command writes (a sealed file, a plaintext, a grant) goes through writeOutputFile:
// - the output may not be one of the command's inputs (same device and inode, so hard and symbolic links are
//   caught too): `encrypt --in f --out f` would destroy the plaintext;
// - an existing output is refused unless the caller says to overwrite it (`--force`);
// - the bytes go to a partial file beside the output, created exclusively (O_EXCL | O_NOFOLLOW, so nothing
//   planted at the path is written through) under an unpredictable name, synced, and only then published
//   under the output's name — by link() when overwriting is not allowed, so a file that appeared meanwhile is
//   not replaced either, else by rename(). A failure, or SIGINT/SIGTERM/SIGHUP while writing, removes the
//   partial file: the output's name holds the whole file or nothing.
import { linkSync, renameSync, rmSync, statSync, unlinkSync, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { CREATE_EXCLUSIVE } from "./key-files";

/** Raised when the output exists and overwriting was not allowed. */
export class OutputExistsError extends Error {
  constructor(readonly file: string) {
    super(`${file} already exists; refusing to overwrite it (--force replaces it)`);
    this.name = "OutputExistsError";
  }
}

/** Raised when the output is one of the command's inputs. */
export class OutputIsInputError extends Error {
  constructor(
    readonly file: string,
    readonly input: string,
  ) {
    super(
      file === input
        ? `${file} is both the input and the output; writing it would destroy the input: choose another output`
        : `${file} is the same file as the input ${input}; writing it would destroy the input: choose another output`,
    );
    this.name = "OutputIsInputError";
  }
}

/** Raised when the output names a directory. */
export class OutputIsDirectoryError extends Error {
  constructor(readonly file: string) {
    super(`${file} is a directory; give a file name to write`);
    this.name = "OutputIsDirectoryError";
  }
}

/** How an output may be written. */
export interface OutputOptions {
  /** Replace an existing output (never an input). Default false. */
  overwrite?: boolean;
  /** Files the command reads: the output must not be any of them. */
  inputs?: readonly string[];
  /** Mode of the new file; default 0644. */
  mode?: number;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Checks, before any work is done (or anything paid), that `out` can be written under `options`: not an
 * input, not a directory, not existing unless overwriting is allowed, and in a directory that exists.
 * Throws an Output*Error, or the file system's error naming the path.
 */
export function checkOutputPath(out: string, options: OutputOptions = {}): void {
  const target = statOrUndefined(out);
  if (!target) {
    statSync(path.dirname(path.resolve(out))); // ENOENT names the missing directory
    return;
  }
  for (const input of options.inputs ?? []) {
    const source = statOrUndefined(input);
    if (source && source.dev === target.dev && source.ino === target.ino) throw new OutputIsInputError(out, input);
  }
  if (target.isDirectory()) throw new OutputIsDirectoryError(out);
  if (!options.overwrite) throw new OutputExistsError(out);
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Writes all of `bytes` at the file's current position. */
async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}

/**
 * Writes the bytes `content` yields to `out` through a partial file (see the file's header): the output's
 * name ends up holding all of them, or, after a failure or an interrupting signal, is left as it was.
 */
export async function writeOutputFile(
  out: string,
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: OutputOptions = {},
): Promise<void> {
  checkOutputPath(out, options);
  const partial = `${out}.${randomBytes(8).toString("hex")}.partial`;
  const file = await open(partial, CREATE_EXCLUSIVE, options.mode ?? 0o644);
  await file.chmod(options.mode ?? 0o644);
  // On a signal: remove the partial file, then die of the same signal as if no handler had been installed.
  const onSignal = (signal: NodeJS.Signals) => {
    stopListening();
    rmSync(partial, { force: true });
    process.kill(process.pid, signal);
  };
  const stopListening = () => SIGNALS.forEach((s) => process.removeListener(s, onSignal));
  SIGNALS.forEach((s) => process.on(s, onSignal));
  try {
    for await (const chunk of content) await writeAll(file, chunk);
    await file.sync();
    await file.close();
    publish(partial, out, options);
  } catch (error) {
    await file.close().catch(() => undefined);
    rmSync(partial, { force: true });
    throw error;
  } finally {
    stopListening();
  }
}

/** Gives the finished partial file the output's name, replacing an existing output only if allowed. */
function publish(partial: string, out: string, options: OutputOptions): void {
  if (options.overwrite) {
    // Checked again: the output may have become an input's name (a link) while we wrote.
    checkOutputPath(out, options);
    renameSync(partial, out);
    return;
  }
  try {
    linkSync(partial, out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new OutputExistsError(out);
    throw error;
  }
  unlinkSync(partial);
}

/** Writes `text` to `out` as {@link writeOutputFile} does. */
export function writeOutputText(out: string, text: string, options: OutputOptions = {}): Promise<void> {
  return writeOutputFile(out, [Buffer.from(text, "utf8")], options);
}
