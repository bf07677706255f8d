// The publisher (Enrico's role, with only the policy's public key): cuts a plaintext stream — a file, or a live
// input as it arrives — into segments, seals each under its epoch's key and hands segments and manifests to a
// sink (a folder, ./publisher-node; any storage a static HTTP server can serve). A new epoch, with a fresh key
// and capsule, starts every `epochSegments` segments and/or every `epochSeconds` of input, so a subscription
// can end mid-stream: the nodes refuse the capsule of every epoch after the revocation or the policy's end.
//
// Runtime-neutral (Node and browsers).
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex, hexToBytes, randomBytes } from "@noble/hashes/utils";
import { PublicKey } from "../umbral";
import { newEpoch, sealPiece } from "./epoch";
import {
  MANIFEST_KIND,
  MANIFEST_VERSION,
  ManifestError,
  segmentAad,
  segmentPath,
  type StreamManifest,
} from "./manifest";

export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const DEFAULT_EPOCH_SEGMENTS = 16;
const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;

/** Where a publisher puts what it makes. Writes are awaited in order. */
export interface StreamSink {
  writeSegment(path: string, sealed: Uint8Array): Promise<void>;
  /** Replaces the manifest (atomically, so a player never reads half of one). */
  writeManifest(text: string): Promise<void>;
}

export interface PublishOptions {
  /** The policy: its id (0x-hex, 16 bytes) and public key (the grant's `policyId` and `delegatingKey`). */
  policyId: string;
  policyKey: string;
  /** Plaintext bytes per segment; default 64 KiB. */
  segmentSize?: number;
  /** A new epoch every this many segments (default 16 unless `epochSeconds` is given). */
  epochSegments?: number;
  /** A new epoch once this many seconds passed since the epoch's first segment (live inputs). */
  epochSeconds?: number;
  /**
   * Live input: the manifest is rewritten after every segment (players poll it), and a segment is cut, even if
   * short, once `flushSeconds` passed since its first byte (checked when data arrives). Default false: the
   * manifest is written when each epoch closes and at the end.
   */
  live?: boolean;
  flushSeconds?: number;
  contentType?: string;
  /** The clock (ms), for epochSeconds and flushSeconds; default Date.now. */
  now?: () => number;
  onSegment?: (index: number, epoch: number, plaintextBytes: number) => void;
}

/** Raised for publishing options that cannot work. */
export class PublishOptionsError extends ManifestError {}

function checkCount(value: number | undefined, what: string, max = 2 ** 31): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1 || value > max)) {
    throw new PublishOptionsError(`${what} must be a whole number in [1, ${max}], got ${value}`);
  }
}

/**
 * Publishes `input` to `sink`; resolves with the final (complete) manifest. Memory is bounded by one segment.
 */
export async function publishStream(
  input: AsyncIterable<Uint8Array>,
  sink: StreamSink,
  options: PublishOptions,
): Promise<StreamManifest> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  checkCount(segmentSize, "the segment size", MAX_SEGMENT_SIZE);
  checkCount(options.epochSegments, "segments per epoch");
  if (options.epochSeconds !== undefined && !(options.epochSeconds > 0)) {
    throw new PublishOptionsError(`seconds per epoch must be positive, got ${options.epochSeconds}`);
  }
  if (!/^0x[0-9a-fA-F]{32}$/.test(options.policyId)) throw new PublishOptionsError("the policy id is not 16-byte hex");
  let policyKey: PublicKey;
  try {
    policyKey = PublicKey.fromCompressedBytes(hexToBytes(options.policyKey.replace(/^0x/, "")));
  } catch {
    throw new PublishOptionsError("the policy key is not a 33-byte compressed public key");
  }
  const epochSegments =
    options.epochSegments ?? (options.epochSeconds === undefined ? DEFAULT_EPOCH_SEGMENTS : undefined);
  const now = options.now ?? Date.now;
  const manifest: StreamManifest = {
    kind: MANIFEST_KIND,
    version: MANIFEST_VERSION,
    streamId: `0x${bytesToHex(randomBytes(16))}`,
    policyId: options.policyId.toLowerCase(),
    policyKey: `0x${bytesToHex(policyKey.toCompressedBytes())}`,
    contentType: options.contentType ?? "application/octet-stream",
    segmentSize,
    ...(epochSegments !== undefined ? { epochSegments } : {}),
    ...(options.epochSeconds !== undefined ? { epochSeconds: options.epochSeconds } : {}),
    epochs: [],
    segments: [],
    complete: false,
  };
  const writeManifest = () => sink.writeManifest(JSON.stringify(manifest, null, 1));

  let key: Uint8Array | undefined;
  let epochStart = 0;
  let inEpoch = 0;
  /** Seals `plaintext` as the next segment, opening a new epoch first if the current one is full or old. */
  const emit = async (plaintext: Uint8Array, last: boolean) => {
    const due =
      key === undefined ||
      (epochSegments !== undefined && inEpoch >= epochSegments) ||
      (options.epochSeconds !== undefined && now() - epochStart >= options.epochSeconds * 1000);
    if (due) {
      if (key !== undefined && !options.live) await writeManifest(); // an epoch closed
      const epoch = newEpoch(policyKey);
      key = epoch.key;
      manifest.epochs.push(epoch.lock);
      epochStart = now();
      inEpoch = 0;
    }
    const index = manifest.segments.length;
    const epoch = manifest.epochs.length - 1;
    const sealed = sealPiece(key!, segmentAad(manifest, epoch, index, last), plaintext);
    const path = segmentPath(index);
    await sink.writeSegment(path, sealed);
    manifest.segments.push({ epoch, path, size: sealed.length, sha256: bytesToHex(sha256(sealed)) });
    inEpoch++;
    options.onSegment?.(index, epoch, plaintext.length);
    if (last) manifest.complete = true;
    if (options.live || last) await writeManifest();
  };

  // One segment's worth of plaintext is buffered; a full segment is sealed at once (not held back): the end of
  // the stream is a final segment, possibly empty, sealed as the last.
  const buffer = new Uint8Array(segmentSize);
  let filled = 0;
  let firstByteAt = 0;
  for await (const chunk of input) {
    let at = 0;
    while (at < chunk.length) {
      if (filled === 0) firstByteAt = now();
      const used = Math.min(chunk.length - at, segmentSize - filled);
      buffer.set(chunk.subarray(at, at + used), filled);
      filled += used;
      at += used;
      if (filled === segmentSize) {
        await emit(buffer.slice(), false);
        filled = 0;
      }
    }
    if (options.live && filled > 0 && options.flushSeconds !== undefined) {
      if (now() - firstByteAt >= options.flushSeconds * 1000) {
        await emit(buffer.slice(0, filled), false);
        filled = 0;
      }
    }
  }
  await emit(buffer.slice(0, filled), true);
  return manifest;
}
