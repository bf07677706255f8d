// Enrico: anyone holding a policy's public key encrypts data to it, files of any size streamed in chunks.
import { createReadStream } from "node:fs";
import { randomBytes } from "@noble/hashes/utils";
import { encrypt, type PublicKey } from "../umbral";
import { DEFAULT_CHUNK_SIZE, encodeHeader, FILE_KEY_LENGTH, sealStream } from "./sealed";
import { writeOutputFile } from "./output";

/** Encrypts a stream to `policyKey`; yields the sealed-file bytes. */
export function encryptStream(
  policyKey: PublicKey,
  plaintext: AsyncIterable<Uint8Array>,
  options: { chunkSize?: number; onProgress?: (bytes: number) => void } = {},
): AsyncGenerator<Uint8Array> {
  const fileKey = randomBytes(FILE_KEY_LENGTH);
  const [capsule, wrappedKey] = encrypt(policyKey, fileKey);
  const header = encodeHeader(capsule.toBytes(), wrappedKey, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  return sealStream(plaintext, fileKey, header, options.onProgress);
}

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

/** Encrypts a whole buffer in memory. */
export async function encryptBytes(
  policyKey: PublicKey,
  plaintext: Uint8Array,
  chunkSize?: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of encryptStream(
    policyKey,
    (async function* () {
      yield plaintext;
    })(),
    { chunkSize },
  )) {
    parts.push(part);
  }
  return Buffer.concat(parts);
}
