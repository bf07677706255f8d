// Enrico: anyone holding a policy's public key encrypts data to it, files of any size streamed in chunks.
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { randomBytes } from "@noble/hashes/utils";
import { encrypt, type PublicKey } from "../umbral";
import { DEFAULT_CHUNK_SIZE, encodeHeader, FILE_KEY_LENGTH, sealStream } from "./sealed";

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

/** Encrypts the file `inPath` to `policyKey` into `outPath`. */
export async function encryptFile(
  policyKey: PublicKey,
  inPath: string,
  outPath: string,
  options: { chunkSize?: number; onProgress?: (bytes: number) => void } = {},
): Promise<void> {
  await pipeline(
    Readable.from(encryptStream(policyKey, createReadStream(inPath), options)),
    createWriteStream(outPath, { mode: 0o644 }),
  );
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
