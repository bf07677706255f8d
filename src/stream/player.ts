// The subscriber's player (a Bob of the policy): reads a stream's manifest and sealed segments from any
// storage (a static HTTP server: ./source), opens each epoch's key once — cfrags retrieved and verified by
// Bob's retrieval (src/client/bob), the key kept — and yields plaintext segment by segment as they download, one
// segment in memory at a time. A live manifest is polled until it says complete.
//
// When the subscription is revoked or ends, the nodes refuse the capsule of the next epoch: the player stops
// there with EpochRefusedError carrying the nodes' refusal. Epochs already opened stay open (their keys are
// kept), which is all proxy re-encryption can promise: a reader who had a key has it.
//
// Runtime-neutral (Node and browsers).
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex } from "@noble/hashes/utils";
import type { SecretKey } from "../umbral";
import { checkReceivingKey, type RetrieveOptions } from "../client/bob";
import type { PolicyGrant } from "../client/grant";
import { EpochKeyCache, openEpochKey, openPiece } from "./epoch";
import { checkGrowth, ManifestError, parseManifest, segmentAad, type StreamManifest } from "./manifest";
import type { StreamSource } from "./source";

/** Raised when the nodes would not open an epoch (revoked, expired, too few nodes): the stream ends there. */
export class EpochRefusedError extends Error {
  constructor(
    readonly epoch: number,
    readonly firstSegment: number,
    readonly refusal: unknown,
  ) {
    super(
      `epoch ${epoch} (from segment ${firstSegment}) refused: ${(refusal as Error)?.message ?? String(refusal)}; ` +
        `the epochs opened before it stay readable`,
      { cause: refusal },
    );
    this.name = "EpochRefusedError";
  }
}

/** Raised for a segment that does not match its manifest entry, or a live stream that stopped growing. */
export class SegmentError extends ManifestError {}

/** Raised when a manifest is not for the grant's policy. */
export class WrongPolicyError extends ManifestError {
  constructor(manifestPolicy: string, grantPolicy: string) {
    super(
      `this stream is sealed for policy ${manifestPolicy}, but the grant is for policy ${grantPolicy}: ` +
        `use the grant of the stream's policy`,
    );
  }
}

export interface PlayOptions extends RetrieveOptions {
  /** While a live manifest is incomplete, re-read it this often (ms); default 1000. */
  pollMs?: number;
  /** Give up on a live stream whose manifest has not grown for this long (ms); default 60 000. */
  idleTimeoutMs?: number;
  /** Called once per epoch opened, with how long its retrieval took. */
  onEpoch?: (epoch: number, ms: number) => void;
  /** Stops waiting for a live manifest. */
  signal?: AbortSignal;
}

/** A decrypted segment. */
export interface PlainSegment {
  index: number;
  epoch: number;
  plaintext: Uint8Array;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Random access to one stream as one grant's reader: the manifest, epoch keys (cached), segments. */
export class StreamReader {
  private manifestNow: StreamManifest | undefined;
  readonly keys: EpochKeyCache;

  constructor(
    readonly grant: PolicyGrant,
    private readonly receivingSk: SecretKey,
    readonly source: StreamSource,
    private readonly options: PlayOptions = {},
  ) {
    checkReceivingKey(grant, receivingSk);
    this.keys = new EpochKeyCache(async (epoch) => {
      const manifest = this.manifest;
      const lock = manifest.epochs[epoch];
      const first = manifest.segments.findIndex((s) => s.epoch === epoch);
      const started = Date.now();
      try {
        const key = await openEpochKey(this.grant, this.receivingSk, lock, this.options);
        this.options.onEpoch?.(epoch, Date.now() - started);
        return key;
      } catch (error) {
        throw new EpochRefusedError(epoch, first, error);
      }
    });
  }

  /** The manifest as last read. */
  get manifest(): StreamManifest {
    if (!this.manifestNow) throw new ManifestError("the manifest has not been read yet");
    return this.manifestNow;
  }

  /** Reads the manifest (again), checks it is for the grant's policy and, on a re-read, that it only grew. */
  async refresh(): Promise<StreamManifest> {
    const next = parseManifest(await this.source.manifest());
    if (next.policyId.toLowerCase() !== this.grant.policyId.toLowerCase()) {
      throw new WrongPolicyError(next.policyId, this.grant.policyId);
    }
    if (next.policyKey.toLowerCase() !== this.grant.delegatingKey.toLowerCase()) {
      throw new ManifestError(
        `the stream's policy key ${next.policyKey} is not the grant's ${this.grant.delegatingKey}: the manifest is forged`,
      );
    }
    if (this.manifestNow) checkGrowth(this.manifestNow, next);
    this.manifestNow = next;
    return next;
  }

  /** Downloads, checks and decrypts segment `index` of the manifest as last read (its epoch opened if need be). */
  async segment(index: number): Promise<PlainSegment> {
    const manifest = this.manifest;
    const entry = manifest.segments[index];
    if (!entry) throw new SegmentError(`the stream has no segment ${index} (it has ${manifest.segments.length})`);
    const key = await this.keys.get(entry.epoch);
    const sealed = await this.source.segment(entry.path);
    if (sealed.length !== entry.size || bytesToHex(sha256(sealed)) !== entry.sha256) {
      throw new SegmentError(
        `segment ${index} (${entry.path}) does not match the manifest's size and SHA-256: the storage changed it`,
      );
    }
    const last = manifest.complete && index === manifest.segments.length - 1;
    const plaintext = openPiece(key, segmentAad(manifest, entry.epoch, index, last), sealed, `segment ${index}`);
    return { index, epoch: entry.epoch, plaintext };
  }

  /**
   * Every segment from `from` on, in order, as it can be opened; polls a live manifest until it is complete.
   * Throws EpochRefusedError at the first epoch the nodes refuse.
   */
  async *play(from = 0): AsyncGenerator<PlainSegment> {
    if (!this.manifestNow) await this.refresh();
    let index = from;
    let grewAt = Date.now();
    for (;;) {
      const manifest = this.manifest;
      if (index < manifest.segments.length) {
        yield await this.segment(index++);
        continue;
      }
      if (manifest.complete) return;
      if (this.options.signal?.aborted) return;
      const idle = this.options.idleTimeoutMs ?? 60_000;
      if (Date.now() - grewAt > idle) {
        throw new SegmentError(
          `the live stream has not grown for ${Math.round(idle / 1000)} s and is not marked complete`,
        );
      }
      await sleep(this.options.pollMs ?? 1000, this.options.signal);
      const before = manifest.segments.length;
      if ((await this.refresh()).segments.length > before) grewAt = Date.now();
    }
  }
}

/** Plays a stream's plaintext bytes, segment by segment (see {@link StreamReader.play}). */
export async function* playStream(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  source: StreamSource,
  options: PlayOptions = {},
): AsyncGenerator<Uint8Array> {
  for await (const segment of new StreamReader(grant, receivingSk, source, options).play()) yield segment.plaintext;
}
