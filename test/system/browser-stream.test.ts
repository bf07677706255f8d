// The stream page in a real headless Chromium (test/system/web-stack.ts: a chain process, three staked nodes
// allowing the app's origin, the app built and served): Bob makes his key in the browser, Alice grants him a
// 2-of-3 subscription, the publisher seals a 12 s VP9 WebM (test/fixtures) with a capsule every 2 segments onto
// the stream server, and the page plays it through Media Source Extensions — playback passes 10 s with decoded
// frames, and seeking back inside the opened epochs works. After Alice revokes, a fresh page is refused at the
// first epoch with the nodes' reason.
import { expect } from "chai";
import { createReadStream, mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "puppeteer-core";
import { randomBytes } from "@noble/hashes/utils";
import { grant } from "../../src/client/alice";
import { AliceKeys } from "../../src/client/keys";
import { parsePublicKey } from "../../src/client/keys";
import type { PolicyGrant } from "../../src/client/grant";
import { revokePolicy } from "../../src/policy";
import { publishStream } from "../../src/stream";
import { folderSink } from "../../src/stream/node";
import { serveStreamFolder, type StreamServer } from "../../src/stream/server";
import { ROOT } from "./harness";
import { ALICE, startWebStack, type WebStack } from "./web-stack";

const VIDEO = path.join(ROOT, "test", "fixtures", "stream-12s.webm");
const CONTENT_TYPE = 'video/webm; codecs="vp9"';

describe("system: the stream page plays an encrypted video in headless Chromium", function () {
  this.timeout(600_000);
  let stack: WebStack | undefined;
  let streams: StreamServer | undefined;
  let page: Page;
  let policy: PolicyGrant;
  let grantFile: string;
  let manifestUrl: string;
  const errors: string[] = [];

  before(async function () {
    stack = await startWebStack();
    page = await stack.browser.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
  });

  after(async function () {
    await streams?.close();
    await stack?.stop();
  });

  async function open(name: string): Promise<void> {
    await page.goto(`${stack!.web}#${name}`);
    await page.waitForSelector(`main[data-page="${name}"]`, { timeout: 60_000 });
  }

  /** Fills the stream page and clicks Play. */
  async function play(): Promise<void> {
    await open("stream");
    const input = await page.$("#stream-grant");
    await (input as unknown as { uploadFile(file: string): Promise<void> }).uploadFile(grantFile);
    await page.$eval("#stream-manifest", (e) => ((e as unknown as { value: string }).value = ""));
    await page.type("#stream-manifest", manifestUrl);
    await page.click("#stream-play");
  }

  it("Chromium 147 plays WebM VP9 through Media Source Extensions", async function () {
    await open("network");
    const supported = (await page.evaluate(
      `[MediaSource.isTypeSupported(${JSON.stringify(CONTENT_TYPE)}), MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"')]`,
    )) as boolean[];
    console.log(`      MediaSource.isTypeSupported: WebM VP9 ${supported[0]}, MP4 H.264 ${supported[1]}`);
    expect(supported[0]).to.equal(true);
  });

  it("Bob's key, Alice's grant, and the publisher's stream", async function () {
    await open("bob");
    await page.click("#bob-make-key");
    await page.waitForSelector("#bob-receiving-key", { timeout: 30_000 });
    const receivingKey = (await page.$eval("#bob-receiving-key", (e) => e.textContent ?? "")).trim();
    const alice = await stack!.account(ALICE);
    policy = await grant(stack!.contracts, {
      owner: alice,
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: parsePublicKey(receivingKey, "Bob's key"),
      threshold: 2,
      shares: 3,
      periods: 5n,
      feeRate: (await stack!.contracts.policyManager.feeRateRange())[0] || 1n,
    });
    grantFile = path.join(stack!.work, "grant.json");
    writeFileSync(grantFile, JSON.stringify(policy));
    const dir = mkdtempSync(path.join(stack!.work, "stream-"));
    const manifest = await publishStream(createReadStream(VIDEO), folderSink(dir), {
      policyId: policy.policyId,
      policyKey: policy.delegatingKey,
      segmentSize: 16 * 1024,
      epochSegments: 2,
      contentType: CONTENT_TYPE,
    });
    expect(manifest.epochs.length).to.be.greaterThan(3);
    streams = await serveStreamFolder(dir, { origin: stack!.web.replace(/\/$/, "") });
    manifestUrl = `${streams.url}manifest.json`;
  });

  it("plays the video past 10 s with decoded frames, and seeks back inside the opened epochs", async function () {
    await play();
    await page.waitForSelector('[data-outcome="stream"].ok', { timeout: 120_000 });
    expect(await page.$eval('[data-outcome="stream"]', (e) => e.textContent)).to.match(/^Played the whole stream/);
    // Playback runs in real time: 12 s of video.
    await page.waitForFunction('document.querySelector("#stream-video").currentTime > 10', { timeout: 60_000 });
    const quality = (await page.evaluate(`(() => {
      const video = document.querySelector("#stream-video");
      const q = video.getVideoPlaybackQuality();
      return { frames: q.totalVideoFrames, time: video.currentTime, firstFrameMs: video.dataset.firstFrameMs };
    })()`)) as { frames: number; time: number; firstFrameMs: string };
    console.log(
      `      played to ${quality.time.toFixed(1)} s, ${quality.frames} frames decoded, first frame ${quality.firstFrameMs} ms after Play`,
    );
    expect(quality.time).to.be.greaterThan(10);
    expect(quality.frames).to.be.greaterThan(0);

    await page.evaluate('document.querySelector("#stream-video").currentTime = 2');
    await page.waitForFunction(
      '(() => { const v = document.querySelector("#stream-video"); return !v.seeking && v.currentTime >= 2 && v.currentTime < 10; })()',
      { timeout: 30_000 },
    );
    expect(errors).to.deep.equal([]);
  });

  it("after Alice revokes, a fresh page is refused at the first epoch with the nodes' reason", async function () {
    await revokePolicy(stack!.contracts.policyManager, await stack!.account(ALICE), policy.policyId);
    await play();
    await page.waitForSelector('[data-outcome="stream"].error', { timeout: 60_000 });
    expect(await page.$eval('[data-outcome="stream"]', (e) => e.textContent)).to.match(
      /^error: epoch 0 \(from segment 0\) refused: got 0 correct cfrag\(s\), need 2: .*410 POLICY_REVOKED/,
    );
  });
});
