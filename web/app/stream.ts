// The stream page: Bob (his receiving key from this browser, made on the Bob page) plays an encrypted stream —
// a manifest URL and the grant of its policy — through Media Source Extensions: each epoch's key is opened once
// (the policy's nodes found where they are now, cfrags verified), each segment decrypted as it downloads and
// appended to the video. When the nodes refuse an epoch (revoked, expired) the video keeps what it has: seeking
// works within the epochs opened.
import {
  checkReceivingKey,
  EpochRefusedError,
  httpSource,
  KeyFileError,
  parseGrant,
  resolveGrantNodes,
  SecretKey,
  StreamReader,
  UserError,
} from "../lib";
import { app } from "./context";
import { KEYS, load } from "./keystore";
import { button, bytes, field, h, Outcome, Progress, valueOf } from "./ui";

/** Resolves once `buffer` has taken `data` (MSE appends are asynchronous, one at a time). */
function append(buffer: SourceBuffer, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      buffer.removeEventListener("updateend", done);
      buffer.removeEventListener("error", failed);
      resolve();
    };
    const failed = () => {
      buffer.removeEventListener("updateend", done);
      buffer.removeEventListener("error", failed);
      reject(new UserError("the browser could not decode the stream's media (is the content type right?)"));
    };
    buffer.addEventListener("updateend", done);
    buffer.addEventListener("error", failed);
    buffer.appendBuffer(data as Uint8Array<ArrayBuffer>);
  });
}

export async function streamPage(root: HTMLElement): Promise<void> {
  const grantFile = h("input", { type: "file", id: "stream-grant", accept: ".json,application/json" });
  const video = h("video", { id: "stream-video", controls: true, muted: true, playsinline: true, width: 640 });
  video.muted = true; // autoplay is allowed for muted media
  const progress = new Progress("stream");
  const outcome = new Outcome("stream");
  const log = h("ul", { id: "stream-log", class: "log" });
  const say = (text: string, cls = "") => log.append(h("li", cls ? { class: cls } : {}, text));

  async function play(): Promise<void> {
    log.replaceChildren();
    const started = performance.now();
    const grantText = grantFile.files?.[0] ? await grantFile.files[0].text() : valueOf("stream-grant-text");
    if (!grantText) throw new UserError("give the grant of the stream's policy");
    const recorded = parseGrant(grantText);
    const raw = await load<Uint8Array>(KEYS.bobKey);
    if (!raw) throw new KeyFileError("there is no receiving key in this browser: make or import one on the Bob page");
    const sk = SecretKey.fromBEBytes(raw);
    checkReceivingKey(recorded, sk);
    const url = valueOf("stream-manifest");
    if (!url) throw new UserError("give the stream's manifest URL");
    let grant = recorded;
    try {
      const resolved = await resolveGrantNodes(recorded, app().contracts.nodeDirectory);
      grant = resolved.grant;
      resolved.notes.forEach((n) => say(n));
    } catch (error) {
      say(`warning: could not look the nodes up on the chain (${(error as Error).message}); using the grant's URLs`);
    }
    const reader = new StreamReader(grant, sk, httpSource(new URL(url, location.href).href), {
      onEpoch: (epoch, ms) => say(`epoch ${epoch} opened: cfrags from ${grant.threshold} node(s) in ${ms} ms`),
    });
    progress.busy("reading the manifest…");
    const manifest = await reader.refresh();
    if (typeof MediaSource === "undefined" || !MediaSource.isTypeSupported(manifest.contentType)) {
      throw new UserError(`this browser cannot play ${manifest.contentType} through Media Source Extensions`);
    }
    const media = new MediaSource();
    video.src = URL.createObjectURL(media);
    await new Promise((resolve) => media.addEventListener("sourceopen", resolve, { once: true }));
    const buffer = media.addSourceBuffer(manifest.contentType);
    video.addEventListener(
      "loadeddata",
      () => (video.dataset.firstFrameMs = String(Math.round(performance.now() - started))),
      { once: true },
    );
    let played = 0;
    let stopped: unknown;
    try {
      for await (const segment of reader.play()) {
        await append(buffer, segment.plaintext);
        played += segment.plaintext.length;
        const total = reader.manifest.segments.length;
        progress.set(segment.index + 1, total, `segment ${segment.index + 1} of ${total} (${bytes(played)})`);
        if (segment.index === 0) void video.play().catch(() => undefined);
      }
    } catch (error) {
      if (!(error instanceof EpochRefusedError)) throw error;
      stopped = error;
    } finally {
      if (media.readyState === "open" && !buffer.updating) media.endOfStream();
    }
    video.dataset.played = String(played);
    if (stopped) {
      progress.finish(`stopped after ${bytes(played)}`);
      outcome.fail(stopped);
    } else {
      progress.finish(`played ${bytes(played)}`);
      outcome.ok(`Played the whole stream: ${bytes(played)}, ${reader.manifest.epochs.length} epoch(s).`);
    }
  }

  root.replaceChildren(
    h("h2", {}, "Stream"),
    h("p", {}, "Plays an encrypted stream with the receiving key kept on the Bob page."),
    field("Grant", grantFile, "the grant of the stream's policy"),
    field("or grant JSON", h("textarea", { id: "stream-grant-text", rows: 2, cols: 70 })),
    field(
      "Manifest URL",
      h("input", { id: "stream-manifest", size: "70", placeholder: "https://…/manifest.json (CORS: this origin)" }),
    ),
    button("Play", "stream-play", outcome, play),
    progress.el,
    outcome.el,
    video,
    log,
  );
}
