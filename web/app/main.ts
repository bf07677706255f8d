// The web app's entry: loads config.json, then shows the page the URL's hash names (#network, #alice,
// #enrico, #bob, #chat, #stream). Each page is plain DOM built by its module; nothing runs on a server but static files.
import { alicePage } from "./alice";
import { bobPage } from "./bob";
import { chatPage } from "./chat";
import { loadContext } from "./context";
import { enricoPage } from "./enrico";
import { networkPage } from "./network";
import { streamPage } from "./stream";
import { h } from "./ui";

const PAGES: Record<string, (root: HTMLElement) => Promise<void>> = {
  network: networkPage,
  alice: alicePage,
  enrico: enricoPage,
  bob: bobPage,
  chat: chatPage,
  stream: streamPage,
};

async function show(root: HTMLElement): Promise<void> {
  const name = location.hash.slice(1) || "network";
  const page = PAGES[name] ?? networkPage;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.getAttribute("href") === `#${name}`);
  }
  root.dataset.page = "loading";
  try {
    await page(root);
  } finally {
    root.dataset.page = name;
  }
}

async function main(): Promise<void> {
  const root = document.getElementById("page")!;
  try {
    await loadContext();
  } catch (error) {
    root.replaceChildren(h("p", { class: "outcome error" }, `error: ${(error as Error).message}`));
    return;
  }
  window.addEventListener("hashchange", () => void show(root));
  await show(root);
}

void main();
