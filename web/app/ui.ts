// DOM helpers of the web app: elements, forms, progress bars, and errors said as the CLI says them.
import { describeError } from "../lib";
import { app } from "./context";

type Child = Node | string | undefined | false;

/** Makes an element with attributes (`class`, `id`, `for`…, or `on…` handlers) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | ((event: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (typeof value === "boolean") node.toggleAttribute(name, value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== undefined && child !== false) node.append(child);
  return node;
}

/** A labelled input row of a form. */
export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : undefined);
}

/** A value of an input by id (the page's own inputs). */
export const valueOf = (id: string): string => (document.getElementById(id) as HTMLInputElement).value.trim();

/** A progress bar with a line of text: byte counts, steps, or busy (indeterminate) while waiting. */
export class Progress {
  readonly el: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly text: HTMLElement;

  constructor(readonly name: string) {
    this.bar = h("progress", { class: "bar", "data-progress": name });
    this.text = h("span", { class: "progress-text" });
    this.el = h("div", { class: "progress", hidden: true }, this.bar, this.text);
  }

  /** Indeterminate, with what is going on. */
  busy(message: string): void {
    this.el.hidden = false;
    this.bar.removeAttribute("value");
    this.text.textContent = message;
  }

  /** `done` of `total` (bytes or steps), with a message. */
  set(done: number, total: number, message: string): void {
    this.el.hidden = false;
    this.bar.max = Math.max(total, 1);
    this.bar.value = Math.min(done, this.bar.max);
    this.text.textContent = message;
  }

  finish(message: string): void {
    this.set(1, 1, message);
  }
}

/** A box for the outcome of an action: a result, or an error in one sentence. */
export class Outcome {
  readonly el = h("div", { class: "outcome", role: "status" });

  constructor(name: string) {
    this.el.dataset.outcome = name;
  }

  ok(...children: Child[]): void {
    this.el.className = "outcome ok";
    this.el.replaceChildren(...children.filter((c): c is Node | string => c !== undefined && c !== false));
  }

  /** Says `error` as `npx hardhat kms …` would (reverts decoded against the contracts' errors, in KMS). */
  fail(error: unknown): void {
    this.el.className = "outcome error";
    this.el.textContent = `error: ${describeError(error, app().errors)}`;
  }

  clear(): void {
    this.el.className = "outcome";
    this.el.replaceChildren();
  }
}

/** Runs `action` for a button: disabled while it runs; a failure goes to `outcome`. */
export function button(label: string, id: string, outcome: Outcome, action: () => Promise<void>): HTMLButtonElement {
  const b = h("button", { id, type: "button" }, label);
  b.addEventListener("click", () => {
    b.disabled = true;
    outcome.clear();
    action()
      .catch((error: unknown) => outcome.fail(error))
      .finally(() => (b.disabled = false));
  });
  return b;
}

/** A link that downloads `parts` as the file `name` (the browser keeps Blob parts out of the page's heap). */
export function downloadLink(parts: BlobPart[], name: string, id: string, type = "application/octet-stream") {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  return h("a", { href: url, download: name, id, class: "download" }, `Save ${name}`);
}

/** The chunks of a stream (a File's, a fetch body's) as an async iterable, read one at a time. */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** `n` bytes for people. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
