// The web app in a real headless Chromium (puppeteer-core, the browser from @sparticuz/chromium), against a
// chain process and three staked nodes, one of them cheating (test/system/web-stack.ts): Alice grants 2-of-3
// from her page, Enrico encrypts a 1 MiB file on his, Bob — in a browser context of his own, so nothing of
// Alice's IndexedDB — decrypts it byte for byte and reports the cheater, whose stake drops on chain; once Alice
// revokes, Bob's page shows the nodes' refusal. Each page's screenshot goes to a temporary folder, or to the
// folder named by KMS_SCREENSHOTS (`KMS_SCREENSHOTS=docs/screenshots` refreshes the README's pictures), so a
// test run leaves the working tree as it found it.
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "puppeteer-core";
import { readPolicy } from "../../src/policy";
import { ROOT } from "./harness";
import { ALICE, REPORTER, startWebStack, type WebStack } from "./web-stack";

const SHOTS = process.env.KMS_SCREENSHOTS
  ? path.resolve(ROOT, process.env.KMS_SCREENSHOTS)
  : mkdtempSync(path.join(tmpdir(), "kms-screenshots-"));
const CHEATER = 2;
const MIB = 1024 * 1024;

/** In the page: the bytes the link `selector` points at (a Blob URL the page made), as base64 or SHA-256 hex. */
const linked = (selector: string, as: "base64" | "sha256") => `(async () => {
  const data = new Uint8Array(await (await fetch(document.querySelector(${JSON.stringify(selector)}).href)).arrayBuffer());
  if (${JSON.stringify(as)} === "sha256") {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  let text = "";
  for (let at = 0; at < data.length; at += 0x8000) text += String.fromCharCode(...data.subarray(at, at + 0x8000));
  return btoa(text);
})()`;

const linkedHash = (page: Page, selector: string) => page.evaluate(linked(selector, "sha256")) as Promise<string>;
const linkedBytes = async (page: Page, selector: string) =>
  Buffer.from((await page.evaluate(linked(selector, "base64"))) as string, "base64");

/** Empties the input `selector` and types `value` into it. */
async function retype(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(selector, (e) => ((e as unknown as { value: string }).value = ""));
  await page.type(selector, value);
}

describe("system: the web app in headless Chromium", function () {
  // Bounded per step below; this is the ceiling for a slow, shared machine (the build and the chain included).
  this.timeout(600_000);
  let stack: WebStack | undefined;
  let alice: Page;
  let bob: Page;
  let bobContext: BrowserContext;
  let receivingKey: string;
  let grantText: string;
  let policyId: string;
  const plain = randomBytes(MIB);
  const file = (name: string) => path.join(stack!.work, name);
  const errors: string[] = [];

  /** Opens the page `name` of the app in `page` and waits until it has rendered. */
  async function open(page: Page, name: string): Promise<void> {
    await page.goto(`${stack!.web}#${name}`);
    await page.waitForSelector(`main[data-page="${name}"]`, { timeout: 60_000 });
  }

  /** Chooses dev account #i in the account picker `selector` once the chain's accounts are listed. */
  async function chooseAccount(page: Page, selector: string, i: number): Promise<void> {
    const address = await (await stack!.account(i)).getAddress();
    await page.waitForSelector(`${selector} option[value="${address}"]`, { timeout: 30_000 });
    await page.select(selector, address);
  }

  const shoot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? "");

  before(async function () {
    stack = await startWebStack({ cheaters: [CHEATER] });
    mkdirSync(SHOTS, { recursive: true });
    alice = await stack.browser.newPage();
    bobContext = await stack.browser.createBrowserContext();
    bob = await bobContext.newPage();
    for (const page of [alice, bob]) page.on("pageerror", (e) => errors.push(String(e)));
  });

  after(async function () {
    await stack?.stop();
  });

  it("the library bundle holds no Node-only code and reports its size", function () {
    expect(stack!.build.gzipBytes).to.be.greaterThan(0);
    console.log(`      dist/umbral-kms.js: ${stack!.build.bytes} bytes, ${stack!.build.gzipBytes} gzip`);
  });

  it("the network page lists the three nodes, their stakes and their health", async function () {
    await open(alice, "network");
    await alice.waitForFunction('document.querySelectorAll("#nodes tbody tr td:nth-child(4)").length === 3', {
      timeout: 60_000,
    });
    const health = await alice.$$eval("#nodes tbody tr td:nth-child(4)", (cells) => cells.map((c) => c.textContent));
    expect(
      health.every((h) => h?.startsWith("serving")),
      health.join("; "),
    ).to.equal(true);
    expect(await text(alice, "#period")).to.match(/^Current period \d+/);
    expect(await text(alice, "#nodes tbody")).to.include("20000.0 KMS");
    await shoot(alice, "network");
  });

  it("Bob makes his receiving key in his own browser context", async function () {
    await open(bob, "bob");
    await bob.click("#bob-make-key");
    await bob.waitForSelector("#bob-receiving-key", { timeout: 30_000 });
    receivingKey = await text(bob, "#bob-receiving-key");
    expect(receivingKey).to.match(/^0x0[23][0-9a-f]{64}$/);
  });

  it("Alice sees the fee in KMS, then grants 2-of-3 and pays", async function () {
    await open(alice, "alice");
    await chooseAccount(alice, "#alice-account", ALICE);
    await alice.type("#bob-key", receivingKey);
    expect(await text(alice, "#fee")).to.equal(
      "Deposit: 0.15 KMS (0.01 KMS × 3 node(s) × 5 period(s)), paid from the account above.",
    );
    // A bad threshold is said as kms grant says it, before anything is paid.
    await retype(alice, "#threshold", "4");
    await alice.click("#grant");
    await alice.waitForSelector('[data-outcome="grant"].error', { timeout: 30_000 });
    expect(await text(alice, '[data-outcome="grant"]')).to.equal("error: threshold must be a whole number in [1, 3]");
    await retype(alice, "#threshold", "2");
    const balance = await stack!.contracts.token.balanceOf(await (await stack!.account(ALICE)).getAddress());
    await alice.click("#grant");
    await alice.waitForSelector("#grant-json", { timeout: 120_000 });
    grantText = await text(alice, "#grant-json");
    const grant = JSON.parse(grantText) as {
      policyId: string;
      threshold: number;
      nodes: unknown[];
      receivingKey: string;
    };
    policyId = grant.policyId;
    expect(grant.threshold).to.equal(2);
    expect(grant.nodes).to.have.length(3);
    expect(grant.receivingKey).to.equal(receivingKey);
    const after = await stack!.contracts.token.balanceOf(await (await stack!.account(ALICE)).getAddress());
    expect(balance - after).to.equal(15n * 10n ** 16n);
    for (const node of stack!.nodes) {
      const status = (await (await fetch(`${node.url}/v1/status`)).json()) as { kfrags: number };
      expect(status.kfrags).to.equal(1);
    }
    await alice.waitForSelector(`tr[data-policy="${policyId}"] .status-active`, { timeout: 30_000 });
    await shoot(alice, "alice");
  });

  it("Enrico encrypts a 1 MiB file to the policy and offers the sealed file", async function () {
    writeFileSync(file("plain.bin"), plain);
    await open(alice, "enrico");
    await alice.type("#enrico-policy-key", JSON.parse(grantText).delegatingKey as string);
    const input = await alice.$("#enrico-file");
    await input!.uploadFile(file("plain.bin"));
    await alice.click("#encrypt");
    await alice.waitForSelector("#sealed-download", { timeout: 120_000 });
    const sealed = await linkedBytes(alice, "#sealed-download");
    expect(sealed.length).to.be.greaterThan(MIB);
    expect(sealed.subarray(0, 4).toString()).to.equal("UKMS");
    writeFileSync(file("plain.bin.sealed"), sealed);
    writeFileSync(file("grant.json"), grantText);
    await shoot(alice, "enrico");
  });

  it("Bob decrypts it byte for byte; the cheating node is caught, reported and slashed on chain", async function () {
    const cheater = stack!.nodes[CHEATER].staker;
    const stakeBefore = await stack!.contracts.escrow.stakeOf(cheater);
    await (await bob.$("#bob-grant"))!.uploadFile(file("grant.json"));
    await (await bob.$("#bob-sealed"))!.uploadFile(file("plain.bin.sealed"));
    await bob.click("#bob-audit");
    await chooseAccount(bob, "#bob-account", REPORTER);
    await bob.click("#decrypt");
    await bob.waitForSelector("#plaintext-download, [data-outcome='decrypt'].error", { timeout: 180_000 });
    expect(await text(bob, "[data-outcome='decrypt']")).to.match(/^Decrypted 1\.0 MiB/);
    expect(await linkedHash(bob, "#plaintext-download")).to.equal(createHash("sha256").update(plain).digest("hex"));
    await bob.waitForSelector(`#verdicts li[data-staker="${cheater}"]`, { timeout: 60_000 });
    expect(await text(bob, "#verdicts")).to.match(/verdict \w+, penalty [1-9][0-9.]* KMS, reward [0-9.]+ KMS/);
    expect(await stack!.contracts.escrow.stakeOf(cheater)).to.be.lessThan(stakeBefore);
    for (const node of stack!.nodes.filter((_, i) => i !== CHEATER)) {
      expect(await stack!.contracts.escrow.stakeOf(node.staker)).to.equal(20_000n * 10n ** 18n);
    }
    await bob.$eval("#verdicts", (e) => e.scrollIntoView({ block: "end" }));
    await shoot(bob, "bob");
  });

  it("a wrong receiving key is refused before any node is asked, with the CLI's sentence", async function () {
    const other = await stack!.browser.createBrowserContext();
    try {
      const page = await other.newPage();
      await open(page, "bob");
      await page.click("#bob-make-key");
      await page.waitForSelector("#bob-receiving-key", { timeout: 30_000 });
      await (await page.$("#bob-grant"))!.uploadFile(file("grant.json"));
      await (await page.$("#bob-sealed"))!.uploadFile(file("plain.bin.sealed"));
      await page.click("#decrypt");
      await page.waitForSelector("[data-outcome='decrypt'].error", { timeout: 30_000 });
      expect(await text(page, "[data-outcome='decrypt']")).to.match(
        /^error: this grant is for the receiving key 0x[0-9a-f]{66}, but the key file holds 0x[0-9a-f]{66}: /,
      );
    } finally {
      await other.close();
    }
  });

  it("Alice extends the policy by two periods, paying the fee her page showed", async function () {
    await open(alice, "alice");
    await chooseAccount(alice, "#alice-account", ALICE);
    await alice.waitForSelector(`#extend-${policyId}`, { timeout: 30_000 });
    await retype(alice, `#extend-periods-${policyId}`, "2");
    expect(await text(alice, `#extend-fee-${policyId}`)).to.equal(" period(s): 0.06 KMS ");
    const aliceAddress = await (await stack!.account(ALICE)).getAddress();
    const [balance, before] = await Promise.all([
      stack!.contracts.token.balanceOf(aliceAddress),
      readPolicy(stack!.contracts.policyManager, policyId),
    ]);
    await alice.click(`#extend-${policyId}`);
    await alice.waitForFunction(
      `document.querySelector('[data-outcome="policies"]').textContent.includes("extended")`,
      { timeout: 60_000 },
    );
    const after = await readPolicy(stack!.contracts.policyManager, policyId);
    expect(after.record.endPeriod).to.equal(before.record.endPeriod + 2n);
    expect(balance - (await stack!.contracts.token.balanceOf(aliceAddress))).to.equal(6n * 10n ** 16n);
    expect(await text(alice, '[data-outcome="policies"]')).to.equal(
      `policy ${policyId} extended to end at period ${after.record.endPeriod} (was ${before.record.endPeriod}); paid 0.06 KMS`,
    );
    await shoot(alice, "alice-policies");
  });

  it("Alice revokes the policy; Bob's page then shows the nodes' refusal", async function () {
    await open(alice, "alice");
    await chooseAccount(alice, "#alice-account", ALICE);
    await alice.waitForSelector(`#revoke-${policyId}`, { timeout: 30_000 });
    await alice.click(`#revoke-${policyId}`);
    await alice.waitForSelector(`tr[data-policy="${policyId}"] .status-revoked`, { timeout: 60_000 });
    expect(await text(alice, '[data-outcome="policies"]')).to.match(/revoked; [0-9.]+ KMS refunded/);
    await bob.click("#decrypt");
    await bob.waitForSelector("[data-outcome='decrypt'].error", { timeout: 60_000 });
    const refusal = await text(bob, "[data-outcome='decrypt']");
    expect(refusal).to.match(
      /^error: got 0 correct cfrag\(s\), need 2: .*410 POLICY_REVOKED: policy 0x[0-9a-f]+ was revoked/,
    );
    expect(await bob.$("#plaintext-download")).to.equal(null);
    await bob.$eval("[data-outcome='decrypt']", (e) => e.scrollIntoView({ block: "end" }));
    await shoot(bob, "bob-revoked");
    expect(errors, errors.join("\n")).to.deep.equal([]);
  });

  describe("with an injected EIP-1193 wallet", function () {
    let walletContext: BrowserContext;

    /**
     * A page whose window.ethereum is a minimal EIP-1193 wallet: it shares `account`, says it is on `chainId`, and
     * passes every other request to the chain's RPC (where the account is unlocked, so the chain signs what a real
     * wallet would). The methods it was asked are kept in window.walletCalls.
     */
    async function walletPage(account: string, chainId: number): Promise<Page> {
      const page = await walletContext.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.evaluateOnNewDocument(
        (rpcUrl: string, chainHex: string, shared: string) => {
          const calls: string[] = [];
          const w = globalThis as unknown as Record<string, unknown>;
          w.walletCalls = calls;
          w.ethereum = {
            async request({ method, params }: { method: string; params?: unknown[] }) {
              calls.push(method);
              if (method === "eth_requestAccounts" || method === "eth_accounts") return [shared];
              if (method === "eth_chainId") return chainHex;
              const answer = await fetch(rpcUrl, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ jsonrpc: "2.0", id: calls.length, method, params: params ?? [] }),
              });
              const body = (await answer.json()) as { result?: unknown; error?: { code: number; message: string } };
              if (body.error) throw Object.assign(new Error(body.error.message), body.error);
              return body.result;
            },
            on() {},
            removeListener() {},
          };
        },
        stack!.chainUrl,
        `0x${chainId.toString(16)}`,
        account,
      );
      return page;
    }

    before(async function () {
      walletContext = await stack!.browser.createBrowserContext();
    });

    after(async function () {
      await walletContext?.close();
    });

    it("a wallet on another chain is refused in one sentence, and nothing is connected", async function () {
      const address = await (await stack!.account(ALICE)).getAddress();
      const page = await walletPage(address, stack!.chainId + 1);
      await open(page, "alice");
      await page.click("#alice-account-connect");
      await page.waitForSelector('[data-outcome="alice-account-wallet"].error', { timeout: 30_000 });
      expect(await text(page, '[data-outcome="alice-account-wallet"]')).to.equal(
        `error: the wallet is on chain ${stack!.chainId + 1}, the app's deployment on chain ${stack!.chainId}`,
      );
      expect(await page.$$eval("#alice-account option", (o) => o.map((e) => e.textContent))).not.to.include(
        `${address} (wallet)`,
      );
      await page.close();
    });

    it("Alice connects it, grants and revokes through it: the wallet sends every transaction", async function () {
      const address = await (await stack!.account(ALICE)).getAddress();
      const page = await walletPage(address, stack!.chainId);
      await open(page, "alice");
      // With a wallet there, the chain's dev accounts are not offered.
      expect(await text(page, "#alice-account")).not.to.include("dev account");
      await page.click("#alice-account-connect");
      await page.waitForSelector(`#alice-account option[value="${address}"]`, { timeout: 30_000 });
      expect(await text(page, "#alice-account-connect")).to.equal("Wallet connected");
      await page.type("#bob-key", receivingKey);
      const balance = await stack!.contracts.token.balanceOf(address);
      await page.click("#grant");
      await page.waitForSelector("#grant-json, [data-outcome='grant'].error", { timeout: 120_000 });
      expect(await text(page, "[data-outcome='grant']")).not.to.match(/^error/);
      const grant = JSON.parse(await text(page, "#grant-json")) as { policyId: string };
      const policy = await readPolicy(stack!.contracts.policyManager, grant.policyId);
      expect(policy.record.owner).to.equal(address);
      expect(balance - (await stack!.contracts.token.balanceOf(address))).to.equal(15n * 10n ** 16n);
      await page.waitForSelector(`#revoke-${grant.policyId}`, { timeout: 30_000 });
      await page.click(`#revoke-${grant.policyId}`);
      await page.waitForSelector(`tr[data-policy="${grant.policyId}"] .status-revoked`, { timeout: 60_000 });
      expect((await readPolicy(stack!.contracts.policyManager, grant.policyId)).revoked).to.equal(true);
      const calls = (await page.evaluate("window.walletCalls")) as string[];
      expect(calls).to.include("eth_requestAccounts");
      // The deposit's approval (or permit signature), the creation and the revocation: all through the wallet.
      expect(calls.filter((m) => m === "eth_sendTransaction").length).to.be.at.least(2);
      await page.close();
      expect(errors, errors.join("\n")).to.deep.equal([]);
    });
  });
});
