// A small static file server for streams (the demo's and the tests' "untrusted storage"): GET and HEAD of the
// files under one folder, byte ranges (206), CORS for browsers, no listing, nothing outside the folder, the
// manifest never cached (live manifests grow). Any static HTTP server does the same job; this one needs nothing.
import { createReadStream, realpathSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";

export interface StreamServer {
  server: Server;
  /** The folder's URL, ending with "/". */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".json": "application/json",
  ".bin": "application/octet-stream",
  ".webm": "video/webm",
};

/** Serves `dir` on 127.0.0.1 (or `host`) at `port` (0: a free one); `origin` is the CORS origin allowed ("*"). */
export async function serveStreamFolder(
  dir: string,
  options: { port?: number; host?: string; origin?: string } = {},
): Promise<StreamServer> {
  const root = realpathSync(dir);
  const server = createServer((request, response) => {
    response.setHeader("Access-Control-Allow-Origin", options.origin ?? "*");
    response.setHeader("Access-Control-Allow-Headers", "Range");
    response.setHeader("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
    if (request.method === "OPTIONS") {
      response.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD" }).end();
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    let file: string;
    try {
      const wanted = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
      file = realpathSync(path.join(root, path.normalize(wanted)));
      if (file !== root && !file.startsWith(root + path.sep)) throw new Error("outside");
      if (!statSync(file).isFile()) throw new Error("not a file");
    } catch {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const size = statSync(file).size;
    const headers: Record<string, string | number> = {
      "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "Accept-Ranges": "bytes",
      "Cache-Control": path.extname(file) === ".json" ? "no-store" : "public, max-age=3600",
    };
    let start = 0;
    let end = size - 1;
    const range = request.headers.range;
    if (range) {
      const match = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (match && (match[1] || match[2])) {
        start = match[1] ? Number(match[1]) : Math.max(0, size - Number(match[2]));
        end = match[1] && match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
      }
      if (!match || start > end || start >= size) {
        response.writeHead(416, { "Content-Range": `bytes */${size}` }).end();
        return;
      }
      headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["Content-Length"] = size === 0 ? 0 : end - start + 1;
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === "HEAD" || size === 0) {
      response.end();
      return;
    }
    createReadStream(file, { start, end }).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as { port: number };
  const host = options.host ?? "127.0.0.1";
  return {
    server,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
