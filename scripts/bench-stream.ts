// `npm run bench:stream`: what a stream costs its subscriber, against a chain process with the Ignition
// deployment and three honest nodes on loopback (2-of-3; test/system/web-stack.ts), the 12 s VP9 WebM of
// test/fixtures (119 KB) served by the stream server:
//   - time to first frame in the web app (headless Chromium 147, from the click on Play to the video's
//     `loadeddata`), and time to the first plaintext byte from the Node library (a warm process, a fresh
//     player each run, so each run retrieves cfrags), beside its peer: the same video as one sealed file
//     (one capsule per file, `decryptStream`);
//   - cfrag requests the nodes receive per minute of stream per subscriber, counted (every reencrypt request
//     Bob's HTTP client sends) over whole plays with a capsule every 1, 2 and 4 segments of 16 KiB.
// Medians of RUNS runs. Writes nothing but its output.
import { randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { AliceKeys, parsePublicKey } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptBytes } from "../src/client/enrico";
import { decryptStream } from "../src/client/bob";
import { publicKeyOf, type PolicyGrant } from "../src/client/grant";
import { SecretKey, type PublicKey } from "../src/umbral";
import { httpSource, publishStream, StreamReader } from "../src/stream";
import { folderSink } from "../src/stream/node";
import { serveStreamFolder } from "../src/stream/server";
import { ALICE, startWebStack, type WebStack } from "../test/system/web-stack";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const VIDEO = path.join(__dirname, "..", "test", "fixtures", "stream-12s.webm");
const VIDEO_SECONDS = 12;
const SEGMENT = 16 * 1024;
const CONTENT_TYPE = 'video/webm; codecs="vp9"';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let reencryptRequests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  if (String(input instanceof Request ? input.url : input).endsWith("/reencrypt")) reencryptRequests++;
  return realFetch(input, init);
}) as typeof fetch;

async function subscribe(stack: WebStack, receivingKey: PublicKey) {
  return grant(stack.contracts, {
    owner: await stack.account(ALICE),
    keys: AliceKeys.fromSeed(randomBytes(32)),
    receivingKey,
    threshold: 2,
    shares: 3,
    periods: 5n,
    feeRate: (await stack.contracts.policyManager.feeRateRange())[0] || 1n,
  });
}

async function publish(stack: WebStack, policy: PolicyGrant, epochSegments: number) {
  const dir = mkdtempSync(path.join(stack.work, "stream-"));
  const manifest = await publishStream(createReadStream(VIDEO), folderSink(dir), {
    policyId: policy.policyId,
    policyKey: policy.delegatingKey,
    segmentSize: SEGMENT,
    epochSegments,
    contentType: CONTENT_TYPE,
  });
  const server = await serveStreamFolder(dir);
  return { manifest, server, url: `${server.url}manifest.json` };
}

async function main(): Promise<void> {
  const stack = await startWebStack();
  const servers: { close(): Promise<void> }[] = [];
  try {
    console.log(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(", ")} (${RUNS} runs per figure)`,
    );
    const bob = SecretKey.random();
    const policy = await subscribe(stack, bob.publicKey());

    // Time to the first plaintext byte, stream and sealed file side by side.
    const stream = await publish(stack, policy, 2);
    servers.push(stream.server);
    const sealed = await encryptBytes(publicKeyOf(policy.delegatingKey), readFileSync(VIDEO));
    const streamFirst: number[] = [];
    const fileFirst: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let started = performance.now();
      const playing = new StreamReader(policy, bob, httpSource(stream.url)).play();
      await playing.next();
      streamFirst.push(performance.now() - started);
      await playing.return(undefined);
      started = performance.now();
      const opening = decryptStream(
        policy,
        bob,
        (async function* () {
          yield sealed;
        })(),
      );
      await opening.next();
      fileFirst.push(performance.now() - started);
      await opening.return(undefined);
    }
    const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(", ")})`;
    console.log(`first plaintext byte, stream (manifest, cfrags for epoch 0, segment 0): ${ms(streamFirst)}`);
    console.log(`first plaintext byte, one sealed file (cfrags, first 64 KiB chunk):     ${ms(fileFirst)}`);

    // Cfrag requests per minute of stream.
    for (const epochSegments of [1, 2, 4]) {
      const published = await publish(stack, policy, epochSegments);
      servers.push(published.server);
      reencryptRequests = 0;
      const reader = new StreamReader(policy, bob, httpSource(published.url));
      let bytes = 0;
      for await (const segment of reader.play()) bytes += segment.plaintext.length;
      const epochs = published.manifest.epochs.length;
      const perMinute = (reencryptRequests * 60) / VIDEO_SECONDS;
      console.log(
        `capsule every ${epochSegments} segment(s) of 16 KiB (~${((epochSegments * SEGMENT * VIDEO_SECONDS) / bytes).toFixed(1)} s of this video): ` +
          `${epochs} epochs, ${reencryptRequests} reencrypt requests for ${VIDEO_SECONDS} s = ${perMinute} per minute ` +
          `(${reencryptRequests / epochs} per epoch)`,
      );
    }

    // Time to first frame in the web app.
    const page = await stack.browser.newPage();
    await page.goto(`${stack.web}#bob`);
    await page.waitForSelector('main[data-page="bob"]', { timeout: 60_000 });
    await page.click("#bob-make-key");
    await page.waitForSelector("#bob-receiving-key", { timeout: 30_000 });
    const key = (await page.$eval("#bob-receiving-key", (e) => e.textContent ?? "")).trim();
    const browserPolicy = await subscribe(stack, parsePublicKey(key, "Bob's key"));
    const grantFile = path.join(stack.work, "browser-grant.json");
    writeFileSync(grantFile, JSON.stringify(browserPolicy));
    const browserStream = await publish(stack, browserPolicy, 2);
    servers.push(browserStream.server);
    const frames: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await page.goto(`${stack.web}?run=${run}#stream`);
      await page.waitForSelector('main[data-page="stream"]', { timeout: 60_000 });
      const input = await page.$("#stream-grant");
      await (input as unknown as { uploadFile(file: string): Promise<void> }).uploadFile(grantFile);
      await page.type("#stream-manifest", browserStream.url);
      await page.click("#stream-play");
      await page.waitForSelector("#stream-video[data-first-frame-ms]", { timeout: 60_000 });
      frames.push(Number(await page.$eval("#stream-video", (v) => v.getAttribute("data-first-frame-ms"))));
    }
    console.log(`first frame in the web app (click on Play to loadeddata): ${ms(frames)}`);
    console.log(
      `load average at end: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(", ")}`,
    );
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
