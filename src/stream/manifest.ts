// The stream manifest: what a publisher writes beside the sealed segments and a player reads first. JSON, no
// secret: the policy it is sealed for, how segments are grouped into epochs, each epoch's lock (capsule and
// wrapped key) and each segment's path, size and SHA-256. A live stream's manifest grows (`complete: false`)
// and players poll it; a finished one says `complete: true`.
//
// Segment i of epoch e is sealed with e's key and the associated data
//   "umbral-kms/stream/1" ‖ streamId (16) ‖ policyId (16) ‖ be32(e) ‖ be32(i) ‖ last (1)
// so a segment opens only at its own place in its own stream and epoch, and the last one says it is last
// (a stream cut short is told from a finished one).
import { hexToBytes } from "@noble/hashes/utils";
import { POLICY_ID_BYTES } from "../policy/id";
import type { EpochLock } from "./epoch";

export const MANIFEST_KIND = "umbral-kms/stream";
export const MANIFEST_VERSION = 1;
const AAD_LABEL = new TextEncoder().encode("umbral-kms/stream/1");

/** One sealed segment as the manifest lists it. */
export interface SegmentEntry {
  /** The epoch whose key seals it. */
  epoch: number;
  /** Where it is, relative to the manifest's URL. */
  path: string;
  /** Its sealed size in bytes. */
  size: number;
  /** SHA-256 of its sealed bytes, hex. */
  sha256: string;
}

export interface StreamManifest {
  kind: typeof MANIFEST_KIND;
  version: typeof MANIFEST_VERSION;
  /** 16 random bytes, hex: binds every segment to this stream. */
  streamId: string;
  /** The policy the epochs are sealed to (0x-hex, 16 bytes) and its public key (the grant's delegatingKey). */
  policyId: string;
  policyKey: string;
  /** What the plaintext is (a MIME type, e.g. `video/webm; codecs="vp9"`), for players. */
  contentType: string;
  /** Plaintext bytes per segment (the last may be shorter). */
  segmentSize: number;
  /** A new epoch starts every this many segments, and/or every this many seconds of input (live). */
  epochSegments?: number;
  epochSeconds?: number;
  epochs: EpochLock[];
  segments: SegmentEntry[];
  /** Whether the last segment is written: players stop there instead of polling. */
  complete: boolean;
}

/** Raised for a manifest that is malformed, for another policy, or inconsistent with an earlier version. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

const isHex = (value: unknown, bytes?: number): boolean =>
  typeof value === "string" &&
  /^0x([0-9a-fA-F]{2})*$/.test(value) &&
  (bytes === undefined || value.length === 2 + 2 * bytes);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Parses and validates a manifest from JSON text. */
export function parseManifest(text: string): StreamManifest {
  let raw: Partial<StreamManifest>;
  try {
    raw = JSON.parse(text) as Partial<StreamManifest>;
  } catch {
    throw new ManifestError("the stream manifest is not JSON");
  }
  const bad = (what: string) => new ManifestError(`invalid stream manifest: ${what}`);
  if (raw?.kind !== MANIFEST_KIND) throw bad(`kind is not "${MANIFEST_KIND}"`);
  if (raw.version !== MANIFEST_VERSION) throw bad(`unsupported version ${String(raw.version)}`);
  if (!isHex(raw.streamId, 16)) throw bad("streamId is not 16 bytes of hex");
  if (!isHex(raw.policyId, POLICY_ID_BYTES)) throw bad(`policyId is not ${POLICY_ID_BYTES} bytes of hex`);
  if (!isHex(raw.policyKey, 33)) throw bad("policyKey is not a 33-byte compressed key");
  if (typeof raw.contentType !== "string") throw bad("contentType is missing");
  if (!isCount(raw.segmentSize) || raw.segmentSize < 1) throw bad("segmentSize must be a positive integer");
  if (!Array.isArray(raw.epochs) || !Array.isArray(raw.segments)) throw bad("epochs and segments must be lists");
  if (typeof raw.complete !== "boolean") throw bad("complete must be true or false");
  raw.epochs.forEach((e, i) => {
    if (!isHex(e?.capsule) || !isHex(e?.wrappedKey)) throw bad(`epoch ${i} has no capsule or wrapped key`);
  });
  let epoch = 0;
  raw.segments.forEach((s, i) => {
    if (!isCount(s?.epoch) || s.epoch < epoch || s.epoch > epoch + 1 || s.epoch >= raw.epochs!.length) {
      throw bad(`segment ${i} names epoch ${String(s?.epoch)} out of order`);
    }
    epoch = s.epoch;
    if (typeof s.path !== "string" || s.path.length === 0 || /^[a-z]+:|^\/|(^|\/)\.\.(\/|$)/i.test(s.path)) {
      throw bad(`segment ${i}'s path must be relative, inside the manifest's folder`);
    }
    if (!isCount(s.size)) throw bad(`segment ${i}'s size is not a byte count`);
    if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256)) throw bad(`segment ${i}'s sha256 is not hex`);
  });
  return raw as StreamManifest;
}

/** Throws unless `next` (a newer read of a live manifest) extends `previous` without changing what was there. */
export function checkGrowth(previous: StreamManifest, next: StreamManifest): void {
  const changed = (what: string) =>
    new ManifestError(`the stream manifest changed ${what} between two reads: the storage is not to be trusted`);
  for (const field of ["streamId", "policyId", "policyKey", "segmentSize"] as const) {
    if (previous[field] !== next[field]) throw changed(`its ${field}`);
  }
  if (previous.complete && !next.complete) throw changed("from complete to incomplete");
  if (next.epochs.length < previous.epochs.length || next.segments.length < previous.segments.length) {
    throw changed("by losing epochs or segments");
  }
  previous.epochs.forEach((e, i) => {
    if (e.capsule !== next.epochs[i].capsule || e.wrappedKey !== next.epochs[i].wrappedKey) {
      throw changed(`epoch ${i}`);
    }
  });
  previous.segments.forEach((s, i) => {
    const n = next.segments[i];
    if (s.sha256 !== n.sha256 || s.epoch !== n.epoch || s.size !== n.size || s.path !== n.path) {
      throw changed(`segment ${i}`);
    }
  });
}

/** The associated data of segment `index` of epoch `epoch` of the stream (see the header comment). */
export function segmentAad(
  manifest: Pick<StreamManifest, "streamId" | "policyId">,
  epoch: number,
  index: number,
  last: boolean,
): Uint8Array {
  const streamId = hexToBytes(manifest.streamId.slice(2));
  const policyId = hexToBytes(manifest.policyId.slice(2));
  const out = new Uint8Array(AAD_LABEL.length + streamId.length + policyId.length + 9);
  let at = 0;
  out.set(AAD_LABEL, at);
  at += AAD_LABEL.length;
  out.set(streamId, at);
  at += streamId.length;
  out.set(policyId, at);
  at += policyId.length;
  const view = new DataView(out.buffer);
  view.setUint32(at, epoch);
  view.setUint32(at + 4, index);
  out[at + 8] = last ? 1 : 0;
  return out;
}

/** The path of segment `index` as publishers here name it. */
export const segmentPath = (index: number): string => `segment-${String(index).padStart(6, "0")}.bin`;
