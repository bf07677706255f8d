// The sealed-file format Enrico writes and Bob reads: one Umbral capsule per file, the data in
// authenticated chunks, so files of any size stream through constant memory.
//
//   header  = "UKMS" ‖ version (1) ‖ be32(chunkSize) ‖ noncePrefix (19) ‖ be16(len) capsule ‖ be16(len) wrappedKey
//   chunk i = XChaCha20-Poly1305(fileKey, nonce = noncePrefix ‖ be32(i) ‖ lastFlag, aad = header) of ≤ chunkSize bytes
//
// The file key (32 random bytes) is Umbral-encrypted to the policy key: `wrappedKey` is its DEM ciphertext
// and `capsule` its capsule, so Bob needs m cfrags once per file. The chunk index and the last-chunk flag in
// the nonce stop reordering and truncation (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
// Vizár); binding every chunk to the header stops splicing chunks between files.
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/hashes/utils";

export const SEALED_MAGIC = new Uint8Array([0x55, 0x4b, 0x4d, 0x53]); // "UKMS"
export const SEALED_VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const NONCE_PREFIX_LENGTH = 19;
const TAG_LENGTH = 16;
export const FILE_KEY_LENGTH = 32;

/** Raised for a sealed file that is malformed, truncated, reordered or tampered with. */
export class SealedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedFileError";
  }
}

/** The parsed header of a sealed file. */
export interface SealedHeader {
  chunkSize: number;
  noncePrefix: Uint8Array;
  /** Umbral capsule bytes (MessagePack form). */
  capsule: Uint8Array;
  /** The file key, Umbral-DEM-encrypted under the capsule. */
  wrappedKey: Uint8Array;
  /** The header's exact bytes, the AAD of every chunk. */
  bytes: Uint8Array;
}

/** Builds a header; `noncePrefix` is random per file. */
export function encodeHeader(
  capsule: Uint8Array,
  wrappedKey: Uint8Array,
  chunkSize = DEFAULT_CHUNK_SIZE,
): SealedHeader {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new SealedFileError(`chunk size must be an integer in [1, ${MAX_CHUNK_SIZE}], got ${chunkSize}`);
  }
  if (capsule.length > 0xffff || wrappedKey.length > 0xffff) throw new SealedFileError("capsule or key too long");
  const noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
  const bytes = new Uint8Array(4 + 1 + 4 + NONCE_PREFIX_LENGTH + 2 + capsule.length + 2 + wrappedKey.length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  bytes.set(SEALED_MAGIC, at);
  at += 4;
  bytes[at++] = SEALED_VERSION;
  view.setUint32(at, chunkSize);
  at += 4;
  bytes.set(noncePrefix, at);
  at += NONCE_PREFIX_LENGTH;
  view.setUint16(at, capsule.length);
  at += 2;
  bytes.set(capsule, at);
  at += capsule.length;
  view.setUint16(at, wrappedKey.length);
  at += 2;
  bytes.set(wrappedKey, at);
  return { chunkSize, noncePrefix, capsule, wrappedKey, bytes };
}

/**
 * Parses a header from the start of `data`. Returns undefined when `data` is too short to hold the whole
 * header yet (read more and call again); throws for anything that is not a sealed file.
 */
export function decodeHeader(data: Uint8Array): SealedHeader | undefined {
  const fixed = 4 + 1 + 4 + NONCE_PREFIX_LENGTH + 2;
  if (data.length < 5) return undefined;
  if (!SEALED_MAGIC.every((b, i) => data[i] === b))
    throw new SealedFileError("not a sealed umbral-kms file (bad magic)");
  if (data[4] !== SEALED_VERSION) throw new SealedFileError(`unsupported sealed-file version ${data[4]}`);
  if (data.length < fixed) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const chunkSize = view.getUint32(5);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new SealedFileError(`bad chunk size ${chunkSize}`);
  const noncePrefix = data.slice(9, 9 + NONCE_PREFIX_LENGTH);
  const capsuleLength = view.getUint16(fixed - 2);
  if (data.length < fixed + capsuleLength + 2) return undefined;
  const capsule = data.slice(fixed, fixed + capsuleLength);
  const keyLength = view.getUint16(fixed + capsuleLength);
  const end = fixed + capsuleLength + 2 + keyLength;
  if (data.length < end) return undefined;
  const wrappedKey = data.slice(fixed + capsuleLength + 2, end);
  return { chunkSize, noncePrefix, capsule, wrappedKey, bytes: data.slice(0, end) };
}

function chunkNonce(header: SealedHeader, index: number, last: boolean): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffffffff) {
    throw new SealedFileError(`file has too many chunks (index ${index})`);
  }
  const nonce = new Uint8Array(24);
  nonce.set(header.noncePrefix, 0);
  new DataView(nonce.buffer).setUint32(NONCE_PREFIX_LENGTH, index);
  nonce[23] = last ? 1 : 0;
  return nonce;
}

/** Encrypts one chunk; the last chunk (possibly empty) must have `last` set. */
export function sealChunk(
  fileKey: Uint8Array,
  header: SealedHeader,
  index: number,
  plaintext: Uint8Array,
  last: boolean,
) {
  if (plaintext.length > header.chunkSize) throw new SealedFileError("chunk larger than the chunk size");
  return xchacha20poly1305(fileKey, chunkNonce(header, index, last), header.bytes).encrypt(plaintext);
}

/** Decrypts one chunk, or throws SealedFileError if it was tampered with, moved or truncated. */
export function openChunk(
  fileKey: Uint8Array,
  header: SealedHeader,
  index: number,
  ciphertext: Uint8Array,
  last: boolean,
) {
  if (ciphertext.length < TAG_LENGTH || ciphertext.length > header.chunkSize + TAG_LENGTH) {
    throw new SealedFileError(`chunk ${index} has a bad length ${ciphertext.length}`);
  }
  try {
    return xchacha20poly1305(fileKey, chunkNonce(header, index, last), header.bytes).decrypt(ciphertext);
  } catch {
    throw new SealedFileError(
      `chunk ${index} failed authentication: the file was truncated, reordered or tampered with, or the key is wrong`,
    );
  }
}

/** Size of a sealed chunk on disk. */
export function sealedChunkLength(header: SealedHeader): number {
  return header.chunkSize + TAG_LENGTH;
}

/**
 * Cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter or empty), each flagged
 * with whether it is the last. One piece is held back so the last one is known before it is yielded.
 */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<{ piece: Uint8Array; last: boolean }> {
  let buffered: Uint8Array[] = [];
  let bufferedLength = 0;
  let pending: Uint8Array | undefined;
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = buffered[0];
      const used = Math.min(head.length, n - at);
      out.set(head.subarray(0, used), at);
      at += used;
      if (used === head.length) buffered.shift();
      else buffered[0] = head.subarray(used);
    }
    bufferedLength -= n;
    return out;
  };
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    buffered.push(chunk);
    bufferedLength += chunk.length;
    while (bufferedLength > size) {
      if (pending) yield { piece: pending, last: false };
      pending = take(size);
    }
  }
  if (bufferedLength === 0) {
    yield { piece: pending ?? new Uint8Array(0), last: true };
    return;
  }
  if (pending) yield { piece: pending, last: false };
  const rest = take(bufferedLength);
  buffered = [];
  yield { piece: rest, last: true };
}

/** Encrypts a plaintext stream into sealed-file bytes: the header, then every chunk. */
export async function* sealStream(
  plaintext: AsyncIterable<Uint8Array>,
  fileKey: Uint8Array,
  header: SealedHeader,
  onProgress?: (plaintextBytes: number) => void,
): AsyncGenerator<Uint8Array> {
  if (fileKey.length !== FILE_KEY_LENGTH) throw new SealedFileError(`file key must be 32 bytes, got ${fileKey.length}`);
  yield header.bytes;
  let index = 0;
  let done = 0;
  for await (const { piece, last } of rechunk(plaintext, header.chunkSize)) {
    yield sealChunk(fileKey, header, index++, piece, last);
    done += piece.length;
    onProgress?.(done);
  }
}

/**
 * Decrypts sealed-file bytes. `unwrapKey` is called once with the parsed header and returns the file key
 * (Bob: retrieve cfrags for `header.capsule` and decrypt `header.wrappedKey`). Throws SealedFileError for a
 * malformed, truncated or tampered file; no plaintext of a chunk is released before it authenticates.
 */
export async function* openStream(
  sealed: AsyncIterable<Uint8Array>,
  unwrapKey: (header: SealedHeader) => Promise<Uint8Array>,
  onProgress?: (plaintextBytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const iterator = sealed[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let header: SealedHeader | undefined;
  while (!header) {
    const next = await iterator.next();
    if (next.done) throw new SealedFileError("sealed file ends inside its header");
    head = concat(head, next.value);
    header = decodeHeader(head);
  }
  const fileKey = await unwrapKey(header);
  const rest = (async function* () {
    if (head.length > header.bytes.length) yield head.subarray(header.bytes.length);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  let index = 0;
  let done = 0;
  let sawLast = false;
  for await (const { piece, last } of rechunk(rest, sealedChunkLength(header))) {
    if (piece.length === 0) throw new SealedFileError("sealed file is truncated: it has no chunks");
    const plaintext = openChunk(fileKey, header, index++, piece, last);
    sawLast = last;
    done += plaintext.length;
    onProgress?.(done);
    yield plaintext;
  }
  if (!sawLast) throw new SealedFileError("sealed file is truncated: its last chunk is missing");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
