// The publisher and the manifest without a chain: epochs cut by segment count and by the clock (live), short
// segments flushed on time, the manifest's validation, and bad options refused with a sentence.
import { expect } from "chai";
import { bytesToHex, randomBytes } from "@noble/hashes/utils";
import { SecretKey } from "../../src/umbral";
import {
  checkGrowth,
  ManifestError,
  parseManifest,
  publishStream,
  PublishOptionsError,
  type StreamManifest,
  type StreamSink,
} from "../../src/stream";

const policyId = `0x${bytesToHex(randomBytes(16))}`;
const policyKey = `0x${bytesToHex(SecretKey.random().publicKey().toCompressedBytes())}`;

/** A sink in memory that keeps every manifest written. */
function memorySink() {
  const segments = new Map<string, Uint8Array>();
  const manifests: StreamManifest[] = [];
  const sink: StreamSink = {
    writeSegment: async (path, sealed) => void segments.set(path, sealed),
    writeManifest: async (text) => void manifests.push(parseManifest(text)),
  };
  return { sink, segments, manifests };
}

async function* chunks(sizes: number[], onEach?: () => void): AsyncGenerator<Uint8Array> {
  for (const size of sizes) {
    onEach?.();
    yield randomBytes(size);
  }
}

describe("stream publisher", function () {
  it("starts a new epoch every N segments and ends with a final segment marked complete", async function () {
    const { sink, manifests, segments } = memorySink();
    const manifest = await publishStream(chunks([250, 250, 250]), sink, {
      policyId,
      policyKey,
      segmentSize: 100,
      epochSegments: 3,
    });
    // 750 bytes: 7 full segments and a final one of 50 bytes, in epochs of 3.
    expect(manifest.segments.map((s) => s.epoch)).to.deep.equal([0, 0, 0, 1, 1, 1, 2, 2]);
    expect(manifest.epochs).to.have.length(3);
    expect(manifest.complete).to.equal(true);
    expect(segments.size).to.equal(8);
    // Not live: the manifest is written when each epoch closes and at the end.
    expect(manifests.map((m) => m.segments.length)).to.deep.equal([3, 6, 8]);
    for (let i = 1; i < manifests.length; i++) checkGrowth(manifests[i - 1], manifests[i]);
  });

  it("live: a new epoch once epochSeconds passed, short segments flushed on time, the manifest after every segment", async function () {
    let clock = 0;
    const { sink, manifests } = memorySink();
    const manifest = await publishStream(
      chunks([30, 30, 30, 30, 30, 30], () => (clock += 1000)),
      sink,
      { policyId, policyKey, segmentSize: 100, epochSeconds: 2, live: true, flushSeconds: 1, now: () => clock },
    );
    // A chunk arrives every second: a segment is cut once its first byte is a second old (when the next chunk
    // arrives), so every two chunks; a new epoch starts once 2 s passed since the epoch's first segment.
    expect(manifest.segments.map((s) => s.size - 40)).to.deep.equal([60, 60, 60, 0]);
    expect(manifest.segments.map((s) => s.epoch)).to.deep.equal([0, 1, 2, 2]);
    expect(manifests).to.have.length(manifest.segments.length);
    expect(manifests.at(-2)!.complete).to.equal(false);
    expect(manifest.epochSeconds).to.equal(2);
  });

  it("refuses options that cannot work, with a sentence", async function () {
    const { sink } = memorySink();
    const publish = (options: object) =>
      publishStream(chunks([1]), sink, { policyId, policyKey, ...options } as Parameters<typeof publishStream>[2]);
    await expect(publish({ segmentSize: 0 })).to.be.rejectedWith(
      PublishOptionsError,
      /segment size must be a whole number/,
    );
    await expect(publish({ epochSegments: 1.5 })).to.be.rejectedWith(PublishOptionsError, /segments per epoch/);
    await expect(publish({ epochSeconds: -1 })).to.be.rejectedWith(
      PublishOptionsError,
      /seconds per epoch must be positive/,
    );
    await expect(publish({ policyId: "0x12" })).to.be.rejectedWith(PublishOptionsError, /policy id is not 16-byte hex/);
    await expect(publish({ policyKey: "0x02" })).to.be.rejectedWith(PublishOptionsError, /policy key is not/);
  });

  it("the manifest parser refuses what a player must not follow", async function () {
    const { sink } = memorySink();
    const good = await publishStream(chunks([300]), sink, { policyId, policyKey, segmentSize: 100, epochSegments: 2 });
    const text = (change: (m: StreamManifest) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return JSON.stringify(copy);
    };
    expect(() => parseManifest("{")).to.throw(ManifestError, "the stream manifest is not JSON");
    expect(() => parseManifest(text((m) => (m.segments[0].path = "../../etc/passwd")))).to.throw(
      ManifestError,
      /segment 0's path must be relative/,
    );
    expect(() => parseManifest(text((m) => (m.segments[0].path = "https://elsewhere/x")))).to.throw(ManifestError);
    expect(() => parseManifest(text((m) => (m.segments[3].epoch = 0)))).to.throw(ManifestError, /out of order/);
    expect(() => parseManifest(text((m) => (m.segments[0].epoch = 5)))).to.throw(ManifestError, /out of order/);
    expect(() => parseManifest(text((m) => (m.version = 2 as 1)))).to.throw(ManifestError, /unsupported version 2/);
    // A re-read that rewrites what was listed is refused.
    const rewritten = parseManifest(text((m) => (m.segments[1].sha256 = "0".repeat(64))));
    expect(() => checkGrowth(good, rewritten)).to.throw(ManifestError, /changed segment 1 between two reads/);
  });
});
