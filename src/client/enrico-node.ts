// Enrico in Node: ./enrico with files (read by path, written whole or not at all through ./output).
import { createReadStream } from "node:fs";
import type { PublicKey } from "../umbral";
import { encryptStream } from "./enrico";
import { writeOutputFile } from "./output";

export * from "./enrico";

/**
 * Encrypts the file `inPath` to `policyKey` into `outPath` (mode 0644) through a partial file renamed at the
 * end (./output): `outPath` may not be `inPath` (or a link to it), and an existing `outPath` is refused unless
 * `overwrite`.
 */
export async function encryptFile(
  policyKey: PublicKey,
  inPath: string,
  outPath: string,
  options: { chunkSize?: number; onProgress?: (bytes: number) => void; overwrite?: boolean } = {},
): Promise<void> {
  await writeOutputFile(outPath, encryptStream(policyKey, createReadStream(inPath), options), {
    inputs: [inPath],
    overwrite: options.overwrite,
    mode: 0o644,
  });
}
