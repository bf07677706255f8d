// Stream tasks (docs/streams.md): the publisher seals a file or standard input into segments with a capsule per
// epoch, a small server serves the folder, and a subscriber plays it to a file or standard output. Thin: parse
// arguments, call src/stream, print (to standard error where the plaintext may go to standard output).
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { kms } from "./scope";
import { loadDeployment } from "../src/deployment";
import { readSecretKeyFile } from "../src/client/keys";
import { checkReceivingKey, escrowOperatorCheck } from "../src/client/bob-node";
import { evidenceFileSaver } from "../src/client/bob-node";
import { resolveGrantNodes } from "../src/client/directory";
import { parseGrant, type PolicyGrant } from "../src/client/grant";
import { kmsTypes, parseWhole } from "../src/cli/args";
import { UserError } from "../src/cli/errors";
import { publishStream, StreamReader, DEFAULT_EPOCH_SEGMENTS, DEFAULT_SEGMENT_SIZE } from "../src/stream";
import { folderSink, inputStream, MANIFEST_NAME, streamSource, writePlayed } from "../src/stream/node";
import { serveStreamFolder } from "../src/stream/server";

const readGrant = (file: string): PolicyGrant => parseGrant(readFileSync(file, "utf8"));
const note = (message: string) => console.error(message);

kms
  .task(
    "stream-publish",
    "Enrico seals a file or standard input as a stream: segments, a capsule per epoch, a manifest",
  )
  .addParam("grant", "The grant file (its policy id and key; no secret)", undefined, kmsTypes.file)
  .addParam("in", 'The plaintext: a file, or "-" for standard input (a live stream)', undefined, kmsTypes.file)
  .addParam("out", "The folder to write segments and manifest.json into", undefined, kmsTypes.file)
  .addOptionalParam("segmentSize", "Plaintext bytes per segment", DEFAULT_SEGMENT_SIZE, kmsTypes.int)
  .addOptionalParam(
    "epochSegments",
    `A new capsule every this many segments (default ${DEFAULT_EPOCH_SEGMENTS})`,
    undefined,
    kmsTypes.int,
  )
  .addOptionalParam("epochSeconds", "A new capsule every this many seconds of input (live)", undefined, kmsTypes.int)
  .addOptionalParam("contentType", "The plaintext's MIME type, for players", "application/octet-stream", kmsTypes.text)
  .addFlag("live", "Rewrite the manifest after every segment and cut a segment after 1 s (default for stdin)")
  .addFlag("force", "Replace an existing manifest.json in the folder")
  .setAction(
    async (args: {
      grant: string;
      in: string;
      out: string;
      segmentSize: number | string;
      epochSegments?: number | string;
      epochSeconds?: number | string;
      contentType: string;
      live: boolean;
      force: boolean;
    }) => {
      const grant = readGrant(args.grant);
      const segmentSize = parseWhole(args.segmentSize, "--segment-size", 1, 16 * 1024 * 1024);
      const epochSegments =
        args.epochSegments === undefined ? undefined : parseWhole(args.epochSegments, "--epoch-segments", 1);
      const epochSeconds =
        args.epochSeconds === undefined ? undefined : parseWhole(args.epochSeconds, "--epoch-seconds", 1);
      if (args.in !== "-" && !(existsSync(args.in) && statSync(args.in).isFile())) {
        throw new UserError(`${args.in} is not a regular file (use "-" for standard input)`);
      }
      if (existsSync(path.join(args.out, MANIFEST_NAME)) && !args.force) {
        throw new UserError(`${path.join(args.out, MANIFEST_NAME)} exists (--force replaces it)`);
      }
      const live = args.live || args.in === "-";
      const manifest = await publishStream(inputStream(args.in), folderSink(args.out), {
        policyId: grant.policyId,
        policyKey: grant.delegatingKey,
        segmentSize,
        epochSegments,
        epochSeconds,
        contentType: args.contentType,
        live,
        flushSeconds: live ? 1 : undefined,
        onSegment: (index, epoch) => {
          if (live || index % 64 === 0) note(`segment ${index} (epoch ${epoch})`);
        },
      });
      const bytes = manifest.segments.reduce((sum, s) => sum + s.size, 0);
      console.log(
        `published ${manifest.segments.length} segment(s) in ${manifest.epochs.length} epoch(s), ${bytes} sealed bytes, ` +
          `into ${args.out} (manifest: ${path.join(args.out, MANIFEST_NAME)})`,
      );
    },
  );

kms
  .task("stream-serve", "Serves a folder of streams over HTTP (byte ranges, CORS) until interrupted")
  .addParam("dir", "The folder to serve", undefined, kmsTypes.file)
  .addOptionalParam("port", "The port (0: a free one)", 8090, kmsTypes.int)
  .addOptionalParam("host", "The address to listen on", "127.0.0.1", kmsTypes.text)
  .addOptionalParam("origin", "The CORS origin allowed", "*", kmsTypes.text)
  .setAction(async (args: { dir: string; port: number | string; host: string; origin: string }) => {
    if (!existsSync(args.dir) || !statSync(args.dir).isDirectory()) throw new UserError(`${args.dir} is not a folder`);
    const port = parseWhole(args.port, "--port", 0, 65535);
    const served = await serveStreamFolder(args.dir, { port, host: args.host, origin: args.origin });
    console.log(`serving ${args.dir} at ${served.url} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await served.close();
  });

kms
  .task("play", "Bob plays a stream: cfrags once per epoch, plaintext written as it downloads (stdout by default)")
  .addParam("grant", "The grant file", undefined, kmsTypes.file)
  .addParam("bobKey", "Bob's key file", undefined, kmsTypes.file)
  .addParam(
    "manifest",
    "The stream's manifest: an http(s) URL, a manifest.json, or its folder",
    undefined,
    kmsTypes.text,
  )
  .addOptionalParam(
    "out",
    'Where the plaintext goes: a file (mode 0600) or "-" for standard output',
    "-",
    kmsTypes.text,
  )
  .addFlag("force", "Replace an existing output file")
  .addOptionalParam("poll", "Seconds between reads of a live manifest", 1, kmsTypes.int)
  .addOptionalParam("idle", "Give up on a live stream that has not grown for this many seconds", 60, kmsTypes.int)
  .addOptionalParam("timeout", "Seconds to wait for each node", 10, kmsTypes.int)
  .setAction(
    async (
      args: {
        grant: string;
        bobKey: string;
        manifest: string;
        out: string;
        force: boolean;
        poll: number | string;
        idle: number | string;
        timeout: number | string;
      },
      hre,
    ) => {
      const poll = parseWhole(args.poll, "--poll", 1, 3600);
      const idle = parseWhole(args.idle, "--idle", 1, 86_400);
      const timeout = parseWhole(args.timeout, "--timeout", 1, 3600);
      const recorded = readGrant(args.grant);
      const bobKey = readSecretKeyFile(args.bobKey);
      checkReceivingKey(recorded, bobKey);
      // Nodes are asked where they are now, not where they were when the grant was made.
      let policy = recorded;
      try {
        const resolved = await resolveGrantNodes(recorded, (await loadDeployment(hre)).nodeDirectory);
        policy = resolved.grant;
        for (const line of resolved.notes) note(line);
      } catch (error) {
        note(`warning: could not look the nodes up on the chain (${(error as Error).message}); using the grant's URLs`);
      }
      const reader = new StreamReader(policy, bobKey, streamSource(args.manifest), {
        pollMs: poll * 1000,
        idleTimeoutMs: idle * 1000,
        timeoutMs: timeout * 1000,
        saveEvidence: evidenceFileSaver(),
        isOperatorOf: async (staker, operator) =>
          escrowOperatorCheck((await loadDeployment(hre)).escrow)(staker, operator),
        onWarning: (message) => note(`warning: ${message}`),
        onEpoch: (epoch, ms) => note(`epoch ${epoch} opened (cfrags in ${ms} ms)`),
      });
      try {
        const played = await writePlayed(reader.play(), args.out, { overwrite: args.force });
        note(
          `played ${played.segments} segment(s), ${played.bytes} bytes${args.out === "-" ? "" : ` into ${args.out}`}`,
        );
      } catch (error) {
        const written = (error as { written?: { bytes: number; segments: number } }).written;
        if (written?.segments) {
          note(`played ${written.segments} segment(s), ${written.bytes} bytes before the stream stopped`);
        }
        throw error;
      }
    },
  );
