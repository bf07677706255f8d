// Enrico: anyone holding a policy's public key encrypts data to it, files of any size streamed in chunks.
// Runtime-neutral (Node and browsers): encrypting files by path is ./enrico-node's.
import { concatBytes, randomBytes } from "@noble/hashes/utils";
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
  return concatBytes(...parts);
}
