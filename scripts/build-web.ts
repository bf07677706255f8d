// `npm run build:web`: the browser build. Bundles web/lib.ts with esbuild into dist/umbral-kms.js (an ES
// module) with its type declarations (tsc: dist/types, re-exported by dist/umbral-kms.d.ts), and the web app
// (web/app, importing that module at run time) into dist/web/, static files any web server can host.
//
// The bundle must hold no Node-only code: a module `x.ts` with a sibling `x.browser.ts` is replaced by it
// (src/client/key-files), Node's Buffer is the `buffer` package (web/buffer-shim.ts), and Node's built-in
// modules may be imported only by code the bundle drops (e.g. src/slashing/file.ts's evidence-file writer
// beside the JSON codec the bundle keeps): the build fails, naming the importer, if one would be loaded.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile, type Plugin } from "esbuild";

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const WEB_OUT = path.join(DIST, "web");
const STATIC_FILES = ["index.html", "style.css"];

/** Raised when the browser build cannot be made; the message says why. */
export class WebBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebBuildError";
  }
}

/**
 * Whether the package holding `importer` says in its package.json `browser` map that `name` is not loaded in a
 * browser (`"crypto": false`, as @stablelib/random, under siwe, does for its Node random source).
 */
function disabledInBrowser(importer: string, name: string): boolean {
  for (let dir = path.dirname(importer); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const { browser } = JSON.parse(readFileSync(manifest, "utf8")) as { browser?: unknown };
    return typeof browser === "object" && browser !== null && (browser as Record<string, unknown>)[name] === false;
  }
  return false;
}

/**
 * `./x` → `./x.browser.ts` when that file exists; a Node built-in a package disables for browsers is an empty
 * module; any other Node built-in is left external for the check below.
 */
export const browserVariants: Plugin = {
  name: "browser-variants",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const variant = path.resolve(args.resolveDir, `${args.path}.browser.ts`);
      return existsSync(variant) ? { path: variant } : undefined;
    });
    b.onResolve({ filter: /^node:|^(fs|os|path|crypto|stream|child_process|net|http|https)$/ }, (args) =>
      args.importer && disabledInBrowser(args.importer, args.path)
        ? { path: args.path, namespace: "disabled-in-browser" }
        : { path: args.path, external: true, sideEffects: false },
    );
    b.onLoad({ filter: /.*/, namespace: "disabled-in-browser" }, () => ({ contents: "module.exports = {};" }));
    // siwe (CommonJS) requires ethers: without this it would get ethers' CommonJS build, a second copy of ethers
    // beside the ES module build the rest imports (~600 KiB more).
    b.onResolve({ filter: /^ethers$/ }, (args) =>
      args.kind === "require-call" && !args.pluginData?.dedupe
        ? b.resolve("ethers", {
            kind: "import-statement",
            resolveDir: args.resolveDir,
            importer: args.importer,
            pluginData: { dedupe: true },
          })
        : undefined,
    );
  },
};

/** The app imports the library as the separate module ./umbral-kms.js (it is what an app would import). */
const libraryAsModule: Plugin = {
  name: "library-as-module",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/lib$/ }, () => ({ path: "./umbral-kms.js", external: true }));
  },
};

/** Throws if an output still imports anything but the library module (a Node built-in survived). */
function checkImports(metafile: Metafile): void {
  for (const [file, output] of Object.entries(metafile.outputs)) {
    const foreign = output.imports.filter((i) => i.external && i.path !== "./umbral-kms.js");
    if (foreign.length > 0) {
      const importers = Object.entries(metafile.inputs)
        .filter(([, input]) => input.imports.some((i) => foreign.some((f) => f.path === i.path)))
        .map(([name]) => name);
      throw new WebBuildError(
        `${path.relative(ROOT, file)} would import ${foreign.map((f) => f.path).join(", ")} ` +
          `(imported by ${importers.join(", ")}): keep Node-only code behind an adapter the bundle does not load`,
      );
    }
  }
}

/** What was built, with the library's sizes. */
export interface WebBuild {
  library: string;
  bytes: number;
  gzipBytes: number;
  webDir: string;
}

/** Builds the library, its declarations and the app; returns the library's raw and gzip sizes. */
export async function buildWeb(options: { declarations?: boolean } = {}): Promise<WebBuild> {
  if (!existsSync(path.join(ROOT, "artifacts", "contracts"))) {
    throw new WebBuildError("no compiled contracts in artifacts/: run npx hardhat compile first");
  }
  mkdirSync(WEB_OUT, { recursive: true });
  const common = {
    bundle: true,
    format: "esm" as const,
    platform: "browser" as const,
    target: "es2022",
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: "warning" as const,
    inject: [path.join(ROOT, "web", "buffer-shim.ts")],
    plugins: [browserVariants],
  };
  const library = path.join(DIST, "umbral-kms.js");
  const lib = await build({ ...common, entryPoints: [path.join(ROOT, "web", "lib.ts")], outfile: library });
  const app = await build({
    ...common,
    entryPoints: [path.join(ROOT, "web", "app", "main.ts")],
    outfile: path.join(WEB_OUT, "app.js"),
    plugins: [libraryAsModule, browserVariants],
  });
  checkImports(lib.metafile!);
  checkImports(app.metafile!);
  for (const file of ["umbral-kms.js", "umbral-kms.js.map"])
    copyFileSync(path.join(DIST, file), path.join(WEB_OUT, file));
  for (const file of STATIC_FILES) copyFileSync(path.join(ROOT, "web", file), path.join(WEB_OUT, file));
  if (options.declarations !== false) {
    // Type-checks web/ (DOM types) and writes the declarations of the library and everything it exports.
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(ROOT, "web")], {
      stdio: "inherit",
    });
    writeFileSync(path.join(DIST, "umbral-kms.d.ts"), `export * from "./types/web/lib";\n`);
  }
  const bytes = readFileSync(library);
  return { library, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length, webDir: WEB_OUT };
}

if (require.main === module) {
  buildWeb()
    .then((b) => {
      const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      console.log(`wrote ${path.relative(ROOT, b.library)}: ${kib(b.bytes)}, ${kib(b.gzipBytes)} gzip`);
      console.log(`wrote the web app to ${path.relative(ROOT, b.webDir)}/ (npm run web serves it)`);
    })
    .catch((error: Error) => {
      // esbuild and tsc have printed their diagnostics; one line says what failed.
      console.error(error instanceof WebBuildError ? error.message : `the web build failed: ${error.message}`);
      process.exitCode = 1;
    });
}
