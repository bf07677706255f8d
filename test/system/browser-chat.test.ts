// The chat page in headless Chromium (test/system/web-stack.ts: a chain process, three staked nodes, the web
// app, a browser) with a relay of its own that lets the app's origin in: Alice creates a room on her page and
// invites Bob by his public key (a policy paid from her account); Bob, in a browser context of his own, joins
// with the room file; they chat live both ways; Alice removes Bob, and Bob's page shows the nodes' refusal of the
// next message.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "puppeteer-core";
import { startRelay, type Relay } from "../../src/chat/relay";
import { ALICE, startWebStack, type WebStack } from "./web-stack";

describe("system: the chat page in headless Chromium", function () {
  this.timeout(600_000);
  let stack: WebStack | undefined;
  let relay: (Relay & { url: string }) | undefined;
  let relayDir: string | undefined;
  let alice: Page;
  let bob: Page;
  let bobContext: BrowserContext;
  const errors: string[] = [];

  async function open(page: Page): Promise<void> {
    await page.goto(`${stack!.web}#chat`);
    await page.waitForSelector(`main[data-page="chat"]`, { timeout: 60_000 });
  }
  async function retype(page: Page, selector: string, value: string): Promise<void> {
    await page.$eval(selector, (e) => ((e as unknown as { value: string }).value = ""));
    await page.type(selector, value);
  }
  const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? "");
  /** Waits until a message whose text includes `fragment` is listed on `page` (in `li.error` ones if `refused`). */
  const sees = (page: Page, fragment: string, refused = false) =>
    page.waitForFunction(
      `[...document.querySelectorAll("#messages li${refused ? ".error" : ""}")].some((li) => li.textContent.includes(${JSON.stringify(fragment)}))`,
      { timeout: 60_000 },
    );
  /** Waits until the room's outcome box says something (a result or an error), and checks it matches `pattern`. */
  async function outcome(page: Page, pattern: string): Promise<void> {
    await page.waitForFunction(
      `/^error:/.test(document.querySelector('[data-outcome="room"]')?.textContent ?? "") || ` +
        `new RegExp(${JSON.stringify(pattern)}).test(document.querySelector('[data-outcome="room"]')?.textContent ?? "")`,
      { timeout: 120_000 },
    );
    expect(await text(page, '[data-outcome="room"]')).to.match(new RegExp(pattern));
  }

  before(async function () {
    stack = await startWebStack();
    relayDir = mkdtempSync(path.join(tmpdir(), "kms-relay-"));
    relay = await startRelay({ dataDir: relayDir, corsOrigins: [new URL(stack.web).origin] });
    alice = await stack.browser.newPage();
    bobContext = await stack.browser.createBrowserContext();
    bob = await bobContext.newPage();
    for (const page of [alice, bob]) page.on("pageerror", (e) => errors.push(String(e)));
  });
  after(async function () {
    await relay?.close();
    if (relayDir) rmSync(relayDir, { recursive: true, force: true });
    await stack?.stop();
  });

  it("Alice creates a room, invites Bob by key; they chat; removed, Bob is refused the next message", async function () {
    await open(bob);
    const bobKey = await text(bob, "#member-key");
    expect(bobKey).to.match(/^0x0[23][0-9a-f]{64}$/);

    await open(alice);
    const address = await (await stack!.account(ALICE)).getAddress();
    await alice.waitForSelector(`#chat-account option[value="${address}"]`, { timeout: 30_000 });
    await alice.select("#chat-account", address);
    await retype(alice, "#relay-url", relay!.url);
    await retype(alice, "#room-name", "browser room");
    await alice.click("#create-room");
    await alice.waitForSelector("#room-file", { timeout: 30_000 });
    await retype(alice, "#invite-key", bobKey);
    await retype(alice, "#invite-name", "bob");
    await alice.click("#invite");
    await outcome(alice, "^invited: policy 0x[0-9a-f]{32}");
    await alice.waitForSelector(`#members li[data-member="${bobKey}"]`, { timeout: 30_000 });
    const roomFile = await text(alice, "#room-file");

    await bob.type("#room-file-in", roomFile);
    await bob.click("#join-room");
    await bob.waitForSelector("#messages", { timeout: 30_000 });
    await alice.type("#chat-text", "hello bob, from the browser");
    await alice.click("#chat-send");
    await sees(bob, "hello bob, from the browser");
    await bob.type("#chat-text", "hi alice");
    await bob.click("#chat-send");
    await sees(alice, "hi alice");
    expect(await text(alice, "#messages")).to.include("bob");

    await alice.click(`#remove-${bobKey.slice(2, 10)}`);
    await outcome(alice, "^bob removed");
    const { state } = await relay!.app
      .inject({ method: "GET", url: `/v1/rooms/${JSON.parse(roomFile).roomId}` })
      .then((r) => r.json() as { state: { members: { grant: { policyId: string } }[] } });
    expect(state.members).to.have.length(0);
    await alice.type("#chat-text", "bob is gone");
    await alice.click("#chat-send");
    await sees(alice, "bob is gone");
    await sees(bob, "cannot open epoch", true);
    expect(await text(bob, "#messages")).to.not.include("bob is gone");
    expect(errors).to.deep.equal([]);
  });
});
