// Streams end to end on the in-process chain with three in-process nodes (2-of-3): a publisher seals a stream
// with a capsule per epoch to a policy, the segments are served by the stream server (untrusted storage), and a
// subscriber plays it — cfrags retrieved once per epoch — until the policy is revoked or runs out, when the next
// epoch is refused with the nodes' reason while the epochs already opened still decrypt. Tampered, reordered and
// foreign-policy streams are refused with a clear error.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "@noble/hashes/utils";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { PolicyGrant } from "../../src/client/grant";
import { revokePolicy } from "../../src/policy";
import { SecretKey } from "../../src/umbral";
import {
  EpochRefusedError,
  EpochSealError,
  publishStream,
  StreamReader,
  SegmentError,
  WrongPolicyError,
  httpSource,
  parseManifest,
  type StreamManifest,
} from "../../src/stream";
import { folderSink, folderSource } from "../../src/stream/node";
import { serveStreamFolder, type StreamServer } from "../../src/stream/server";
import { createKeyFile, readSecretKeyFile } from "../../src/client/key-files";
import { nodesAndGrant, nodesStoppedEachTest } from "../support/local-grant";

const SEGMENT = 1024;

/** A plaintext source yielding `data` in pieces of `piece` bytes. */
async function* pieces(data: Uint8Array, piece = 700): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
}

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe("streams: a capsule per epoch, played until the subscription ends", function () {
  this.timeout(300_000);
  const running = nodesStoppedEachTest();
  let servers: StreamServer[] = [];
  const realFetch = globalThis.fetch;
  let reencryptRequests = 0;
  const work = mkdtempSync(path.join(tmpdir(), "kms-stream-test-"));

  before(function () {
    // Counts what the nodes are asked (Bob's HTTP client uses the global fetch).
    globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      if (String(input instanceof Request ? input.url : input).endsWith("/reencrypt")) reencryptRequests++;
      return realFetch(input, init);
    }) as typeof fetch;
  });
  afterEach(async function () {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  after(function () {
    globalThis.fetch = realFetch;
    rmSync(work, { recursive: true, force: true });
  });

  async function world(periods = 5n, bob = SecretKey.random()) {
    const w = await nodesAndGrant({ periods, bob });
    running.push(...w.nodes);
    return w;
  }

  /** Publishes `data` for `policy` into a fresh folder served over HTTP; returns the manifest's URL. */
  async function publish(policy: PolicyGrant, data: Uint8Array, epochSegments = 2) {
    const dir = mkdtempSync(path.join(work, "stream-"));
    const manifest = await publishStream(pieces(data), folderSink(dir), {
      policyId: policy.policyId,
      policyKey: policy.delegatingKey,
      segmentSize: SEGMENT,
      epochSegments,
    });
    const server = await serveStreamFolder(dir);
    servers.push(server);
    return { dir, manifest, url: `${server.url}manifest.json` };
  }

  it("plays from the start to a mid-stream revocation; the next epoch is refused, earlier ones still open", async function () {
    const w = await world();
    const data = randomBytes(10 * SEGMENT + 300); // 11 segments: 6 epochs of 2 (the last holds the final one)
    const { manifest, url } = await publish(w.policy, data);
    expect(manifest.segments).to.have.length(11);
    expect(manifest.epochs).to.have.length(6);
    expect(manifest.complete).to.equal(true);

    const reader = new StreamReader(w.policy, w.bob, httpSource(url));
    reencryptRequests = 0;
    const played: Uint8Array[] = [];
    const playing = reader.play();
    for (let i = 0; i < 4; i++) played.push((await playing.next()).value!.plaintext); // epochs 0 and 1
    expect(concat(played)).to.deep.equal(Buffer.from(data.subarray(0, 4 * SEGMENT)));
    // Cfrags once per epoch: each retrieval asks the policy's threshold of nodes (all healthy here), 2 of 3.
    expect(reader.keys.retrievals).to.equal(2);
    expect(reencryptRequests).to.equal(2 * w.policy.threshold);

    await revokePolicy(w.deployment.policyManager, w.alice, w.policy.policyId);
    const refused = await playing.next().catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(EpochRefusedError);
    expect((refused as EpochRefusedError).epoch).to.equal(2);
    expect((refused as Error).message).to.match(
      /^epoch 2 \(from segment 4\) refused: got 0 correct cfrag\(s\), need 2/,
    );
    expect((refused as Error).message).to.include("410 POLICY_REVOKED");

    // Already opened epochs stay open, without asking the nodes again; later ones stay refused.
    const before = reencryptRequests;
    for (let i = 0; i < 4; i++) {
      expect(Buffer.from((await reader.segment(i)).plaintext)).to.deep.equal(
        Buffer.from(data.subarray(i * SEGMENT, (i + 1) * SEGMENT)),
      );
    }
    expect(reencryptRequests).to.equal(before);
    await expect(reader.segment(9)).to.be.rejectedWith(EpochRefusedError, /epoch 4 .*POLICY_REVOKED/);
  });

  it("a subscription whose periods run out is refused from the next epoch on", async function () {
    const w = await world(2n);
    const data = randomBytes(6 * SEGMENT);
    const { url } = await publish(w.policy, data, 3);
    const reader = new StreamReader(w.policy, w.bob, httpSource(url));
    const playing = reader.play();
    const first = await playing.next();
    expect(first.value!.epoch).to.equal(0);

    const duration = await w.deployment.escrow.periodDuration();
    await time.increaseTo(BigInt(w.policy.endPeriod) * duration);
    // The rest of epoch 0 plays from its kept key; epoch 1 is refused.
    for (let i = 1; i < 3; i++) expect((await playing.next()).value!.epoch).to.equal(0);
    await expect(playing.next()).to.be.rejectedWith(EpochRefusedError, /epoch 1 .*410 POLICY_EXPIRED/);
  });

  it("a segment changed by the storage, or two segments swapped, is refused with a clear error", async function () {
    const w = await world();
    const data = randomBytes(4 * SEGMENT);
    const { dir } = await publish(w.policy, data);
    const manifestPath = path.join(dir, "manifest.json");
    const manifest = parseManifest(readFileSync(manifestPath, "utf8"));

    // One bit flipped in segment 1: its hash no longer matches the manifest.
    const segment1 = path.join(dir, manifest.segments[1].path);
    const original = readFileSync(segment1);
    const flipped = Buffer.from(original);
    flipped[40] ^= 1;
    writeFileSync(segment1, flipped);
    const reader = new StreamReader(w.policy, w.bob, folderSource(dir));
    await reader.refresh();
    expect(Buffer.from((await reader.segment(0)).plaintext)).to.deep.equal(Buffer.from(data.subarray(0, SEGMENT)));
    await expect(reader.segment(1)).to.be.rejectedWith(SegmentError, /segment 1 .*does not match the manifest/);

    // The same change with the manifest's hash rewritten to match: the AEAD refuses it.
    const forged: StreamManifest = structuredClone(manifest);
    forged.segments[1].sha256 = (await import("node:crypto")).createHash("sha256").update(flipped).digest("hex");
    writeFileSync(manifestPath, JSON.stringify(forged));
    const forgedReader = new StreamReader(w.policy, w.bob, folderSource(dir));
    await forgedReader.refresh();
    await expect(forgedReader.segment(1)).to.be.rejectedWith(EpochSealError, /segment 1 failed authentication/);

    // Segments 0 and 1 swapped, files and manifest entries alike: each is refused at the other's place.
    writeFileSync(segment1, original);
    const swapped: StreamManifest = structuredClone(manifest);
    [swapped.segments[0].path, swapped.segments[1].path] = [manifest.segments[1].path, manifest.segments[0].path];
    [swapped.segments[0].sha256, swapped.segments[1].sha256] = [
      manifest.segments[1].sha256,
      manifest.segments[0].sha256,
    ];
    writeFileSync(manifestPath, JSON.stringify(swapped));
    const swappedReader = new StreamReader(w.policy, w.bob, folderSource(dir));
    const playing = swappedReader.play();
    await expect(playing.next()).to.be.rejectedWith(EpochSealError, /segment 0 failed authentication.*reordered/);

    // A stream cut short but marked complete: its new last segment does not open as the last.
    const cut: StreamManifest = structuredClone(manifest);
    cut.segments = cut.segments.slice(0, 2);
    writeFileSync(manifestPath, JSON.stringify(cut));
    const cutReader = new StreamReader(w.policy, w.bob, folderSource(dir));
    await cutReader.refresh();
    await expect(cutReader.segment(1)).to.be.rejectedWith(EpochSealError, /segment 1 failed authentication/);
  });

  it("a stream sealed for another policy is refused before any node is asked", async function () {
    const w = await world();
    const other = { ...w.policy, policyId: `0x${"11".repeat(16)}` };
    const { url } = await publish(other, randomBytes(SEGMENT));
    reencryptRequests = 0;
    const reader = new StreamReader(w.policy, w.bob, httpSource(url));
    await expect(reader.play().next()).to.be.rejectedWith(
      WrongPolicyError,
      new RegExp(`sealed for policy 0x${"11".repeat(16)}, but the grant is for policy ${w.policy.policyId}`),
    );
    expect(reencryptRequests).to.equal(0);
  });

  it("a live stream: the manifest grows as the publisher writes, the player follows it to the end", async function () {
    const w = await world();
    const dir = mkdtempSync(path.join(work, "live-"));
    const server = await serveStreamFolder(dir);
    servers.push(server);
    const data = randomBytes(5 * SEGMENT + 10);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Two segments now; the rest once the player has read them (a live input that pauses).
    const input = async function* () {
      yield data.subarray(0, 2 * SEGMENT);
      await gate;
      yield data.subarray(2 * SEGMENT);
    };
    const publishing = publishStream(input(), folderSink(dir), {
      policyId: w.policy.policyId,
      policyKey: w.policy.delegatingKey,
      segmentSize: SEGMENT,
      epochSegments: 2,
      live: true,
    });
    const reader = new StreamReader(w.policy, w.bob, httpSource(`${server.url}manifest.json`), { pollMs: 50 });
    // Waits for the first manifest the live publisher writes.
    for (let tries = 0; ; tries++) {
      try {
        await reader.refresh();
        break;
      } catch (error) {
        if (tries > 200) throw error;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const out: Uint8Array[] = [];
    for await (const segment of reader.play()) {
      out.push(segment.plaintext);
      if (segment.index === 1) release();
    }
    await publishing;
    expect(concat(out)).to.deep.equal(Buffer.from(data));
    expect(reader.manifest.complete).to.equal(true);
    expect(reader.keys.retrievals).to.equal(reader.manifest.epochs.length);
  });

  it("the stream server answers byte ranges, refuses paths outside its folder and allows any origin", async function () {
    const dir = mkdtempSync(path.join(work, "serve-"));
    writeFileSync(path.join(dir, "a.bin"), Buffer.from("0123456789"));
    const server = await serveStreamFolder(dir);
    servers.push(server);
    const ranged = await realFetch(`${server.url}a.bin`, { headers: { Range: "bytes=2-5" } });
    expect(ranged.status).to.equal(206);
    expect(ranged.headers.get("content-range")).to.equal("bytes 2-5/10");
    expect(ranged.headers.get("access-control-allow-origin")).to.equal("*");
    expect(await ranged.text()).to.equal("2345");
    expect((await realFetch(`${server.url}a.bin`, { headers: { Range: "bytes=20-" } })).status).to.equal(416);
    expect((await realFetch(`${server.url}%2e%2e/%2e%2e/etc/passwd`)).status).to.equal(404);
    expect((await realFetch(`${server.url}missing.bin`)).status).to.equal(404);
  });

  it("the CLI: kms stream-publish, then kms play into a file; after the revocation kms play fails with one line", async function () {
    const keyFile = path.join(mkdtempSync(path.join(work, "keys-")), "bob.key");
    createKeyFile(keyFile);
    const w = await world(5n, readSecretKeyFile(keyFile));
    const grantFile = path.join(work, `grant-${w.policy.policyId}.json`);
    writeFileSync(grantFile, JSON.stringify(w.policy));
    const input = path.join(work, `in-${w.policy.policyId}.bin`);
    const data = randomBytes(5 * SEGMENT + 1);
    writeFileSync(input, data);
    const dir = path.join(work, `cli-${w.policy.policyId}`);
    const run = (task: string, args: Record<string, unknown>) => hre.run({ scope: "kms", task }, args);
    await run("stream-publish", {
      grant: grantFile,
      in: input,
      out: dir,
      segmentSize: String(SEGMENT),
      epochSegments: "2",
    });
    await expect(run("stream-publish", { grant: grantFile, in: input, out: dir })).to.be.rejectedWith(
      /manifest\.json exists \(--force replaces it\)/,
    );
    const out = path.join(work, `out-${w.policy.policyId}.bin`);
    await run("play", { grant: grantFile, bobKey: keyFile, manifest: dir, out });
    expect(readFileSync(out)).to.deep.equal(Buffer.from(data));

    await revokePolicy(w.deployment.policyManager, w.alice, w.policy.policyId);
    await expect(run("play", { grant: grantFile, bobKey: keyFile, manifest: dir, out: `${out}.2` })).to.be.rejectedWith(
      /^epoch 0 \(from segment 0\) refused: got 0 correct cfrag\(s\), need 2: refused with 410 POLICY_REVOKED/,
    );
  });
});
