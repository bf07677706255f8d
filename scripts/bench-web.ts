// `npm run bench:web`: how long Bob takes to open a 1 MiB sealed file in the browser (the web app in headless
// Chromium) and from the command line (`npx hardhat kms retrieve-decrypt`, and the same library call in a warm
// Node process), on the same machine, against the same chain process and three honest nodes (2-of-3, the
// Ignition deployment). A browser run is timed by the page, from the click to the last plaintext byte; the
// CLI's wall clock includes starting Hardhat. Medians of RUNS runs each side. Writes nothing but its output.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hexlify } from "ethers";
import { AliceKeys } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptBytes } from "../src/client/enrico";
import { decryptFile } from "../src/client/bob-node";
import { publicKeyOf } from "../src/client/grant";
import { SecretKey } from "../src/umbral";
import { ALICE, startWebStack } from "../test/system/web-stack";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MIB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const stack = await startWebStack();
  try {
    const file = (name: string) => path.join(stack.work, name);
    const bob = SecretKey.random();
    writeFileSync(file("bob.key"), hexlify(bob.toBEBytes()).slice(2) + "\n", { mode: 0o600 });
    const made = await grant(stack.contracts, {
      owner: await stack.account(ALICE),
      keys: AliceKeys.fromSeed(randomBytes(32)),
      receivingKey: bob.publicKey(),
      threshold: 2,
      shares: 3,
      periods: 5n,
      feeRate: 10n ** 16n,
    });
    writeFileSync(file("grant.json"), JSON.stringify(made, null, 2));
    const plain = randomBytes(MIB);
    const digest = createHash("sha256").update(plain).digest("hex");
    writeFileSync(file("plain.sealed"), await encryptBytes(publicKeyOf(made.delegatingKey), plain));

    const browserMs: number[] = [];
    const page = await stack.browser.newPage();
    await page.goto(`${stack.web}#bob`);
    await page.waitForSelector('main[data-page="bob"]');
    await page.type("#bob-import", hexlify(bob.toBEBytes()));
    await page.click("#bob-import-key");
    await page.waitForSelector("#bob-receiving-key");
    await (await page.$("#bob-grant"))!.uploadFile(file("grant.json"));
    await (await page.$("#bob-sealed"))!.uploadFile(file("plain.sealed"));
    for (let i = 0; i < RUNS; i++) {
      await page.evaluate('document.querySelector("[data-outcome=decrypt]").replaceChildren()');
      await page.click("#decrypt");
      await page.waitForSelector("#decrypted, [data-outcome='decrypt'].error", { timeout: 120_000 });
      const ms = await page.$eval("#decrypted", (e) => Number(e.getAttribute("data-ms")));
      browserMs.push(ms);
    }

    const libraryMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await decryptFile(made, bob, file("plain.sealed"), file(`lib${i}.bin`));
      libraryMs.push(performance.now() - started);
      if (
        createHash("sha256")
          .update(readFileSync(file(`lib${i}.bin`)))
          .digest("hex") !== digest
      ) {
        throw new Error("the library's plaintext differs");
      }
    }

    const cliMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await stack.harness.hardhatOk(
        [
          "kms",
          "retrieve-decrypt",
          "--network",
          "chain",
          "--grant",
          file("grant.json"),
          "--bob-key",
          file("bob.key"),
          "--in",
          file("plain.sealed"),
          "--out",
          file(`cli${i}.bin`),
        ],
        stack.env,
      );
      cliMs.push(performance.now() - started);
      if (
        createHash("sha256")
          .update(readFileSync(file(`cli${i}.bin`)))
          .digest("hex") !== digest
      ) {
        throw new Error("the CLI's plaintext differs");
      }
    }
    const row = (what: string, xs: number[]) =>
      `| ${what} | ${Math.round(median(xs))} ms | ${xs.map((x) => Math.round(x)).join(", ")} |`;
    console.log(`Bob opens a 1 MiB sealed file, 2-of-3, medians of ${RUNS} runs:`);
    console.log("| Bob | median | runs |");
    console.log("| --- | ---: | --- |");
    console.log(row("browser (web app, headless Chromium 147, click to last byte)", browserMs));
    console.log(row("CLI `kms retrieve-decrypt` (wall clock, Hardhat start included)", cliMs));
    console.log(row("Node library `decryptFile` (warm process)", libraryMs));
    console.log(`library bundle: ${stack.build.bytes} bytes, ${stack.build.gzipBytes} gzip`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: Error) => {
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
});
