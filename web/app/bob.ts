// Bob's page: his receiving key, made and kept in the browser (IndexedDB) with export and import; opening a
// sealed file from disk or a URL — the policy's nodes found where they are now, cfrags retrieved and verified,
// the file decrypted chunk by chunk as it is read and saved; a node caught returning a wrong cfrag is reported
// to the Adjudicator and its on-chain verdict shown.
import {
  getBytes,
  hexlify,
  checkReceivingKey,
  decryptStream,
  escrowOperatorCheck,
  evidenceToJson,
  formatKms,
  KeyFileError,
  parseGrant,
  reportEvidence,
  resolveGrantNodes,
  SecretKey,
  UserError,
  type CheatingNode,
} from "../lib";
import { AccountPicker, app } from "./context";
import { KEYS, load, save } from "./keystore";
import { saveTarget } from "./save";
import { button, bytes, chunksOf, downloadLink, field, h, Outcome, Progress, valueOf } from "./ui";

/** Bob's key from the store, or undefined. */
async function storedKey(): Promise<SecretKey | undefined> {
  const raw = await load<Uint8Array>(KEYS.bobKey);
  return raw ? SecretKey.fromBEBytes(raw) : undefined;
}

/** A secret in the key-file format (`kms keygen`): 32 bytes of hex on a line. */
function parseSecret(text: string, what: string): SecretKey {
  const hex = text.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyFileError(`${what} does not hold a 32-byte hex secret`);
  return SecretKey.fromBEBytes(getBytes(`0x${hex}`));
}

/** The sealed input: a chosen file, or a URL fetched as a stream. */
async function sealedSource(
  file: File | undefined,
  url: string,
): Promise<{ stream: ReadableStream<Uint8Array>; size?: number; name: string }> {
  if (file && url) throw new UserError("open a file or a URL, not both");
  if (file) return { stream: file.stream(), size: file.size, name: file.name };
  if (!url) throw new UserError("choose a sealed file or give its URL");
  const answer = await fetch(url).catch((e: Error) => {
    throw new UserError(`cannot fetch ${url}: ${e.message}`);
  });
  if (!answer.ok || !answer.body) throw new UserError(`${url} answered ${answer.status} ${answer.statusText}`);
  const length = answer.headers.get("content-length");
  return {
    stream: answer.body,
    size: length ? Number(length) : undefined,
    name: new URL(url).pathname.split("/").pop() || "sealed",
  };
}

export async function bobPage(root: HTMLElement): Promise<void> {
  const keyLine = h("p", { id: "bob-public-key" });
  const keyOutcome = new Outcome("bob-key");
  const account = new AccountPicker("bob-account");
  const report = h("input", { type: "checkbox", id: "bob-report", checked: true });
  const toDisk = h("input", { type: "checkbox", id: "bob-to-disk" });
  const audit = h("input", { type: "checkbox", id: "bob-audit" });
  const grantFile = h("input", { type: "file", id: "bob-grant", accept: ".json,application/json" });
  const sealedFile = h("input", { type: "file", id: "bob-sealed" });
  const importFile = h("input", { type: "file", id: "bob-import-file" });
  const progress = new Progress("decrypt");
  const outcome = new Outcome("decrypt");
  const log = h("ul", { id: "bob-log", class: "log" });
  const verdicts = h("ul", { id: "verdicts", class: "verdicts" });
  const say = (text: string, cls = "") => log.append(h("li", cls ? { class: cls } : {}, text));

  async function showKey(): Promise<void> {
    const sk = await storedKey();
    keyLine.replaceChildren(
      sk
        ? h(
            "span",
            {},
            "Receiving key (give it to Alice): ",
            h("code", { id: "bob-receiving-key" }, hexlify(sk.publicKey().toCompressedBytes())),
          )
        : "No receiving key in this browser yet: make one or import one.",
    );
  }

  async function makeKey(): Promise<void> {
    if (await storedKey())
      throw new KeyFileError(
        "this browser already holds a receiving key; export it before replacing it (import replaces it)",
      );
    await save(KEYS.bobKey, SecretKey.random().toBEBytes());
    await showKey();
    keyOutcome.ok("a new receiving key is kept in this browser (IndexedDB); export it to keep a copy");
  }

  async function exportKey(): Promise<void> {
    const sk = await storedKey();
    if (!sk) throw new KeyFileError("there is no receiving key to export");
    const text = hexlify(sk.toBEBytes()).slice(2) + "\n";
    keyOutcome.ok(
      downloadLink([text], "bob.key", "bob-key-download", "text/plain"),
      " — the secret, as a kms keygen key file (chmod 600 it; anyone holding it can read what is granted to you)",
    );
  }

  async function importKey(): Promise<void> {
    const file = importFile.files?.[0];
    const pasted = valueOf("bob-import");
    const sk = file ? parseSecret(await file.text(), `key file ${file.name}`) : parseSecret(pasted, "the pasted key");
    await save(KEYS.bobKey, sk.toBEBytes());
    await showKey();
    keyOutcome.ok("the receiving key was imported into this browser");
  }

  /** Reports a cheating node from the chosen account and shows the verdict the Adjudicator gave. */
  async function onCheat(cheat: CheatingNode): Promise<void> {
    say(`node ${cheat.staker} returned a wrong cfrag it signed: ${cheat.reason}`, "warning");
    if (!report.checked) return;
    const { adjudicator } = app().contracts;
    const outcome = await reportEvidence(adjudicator, await account.signer(), cheat.evidence);
    verdicts.append(
      h(
        "li",
        { class: "verdict", "data-staker": cheat.staker, "data-verdict": outcome.verdictName },
        `node ${cheat.staker} reported: verdict ${outcome.verdictName}, penalty ${formatKms(outcome.penalty)} KMS, ` +
          `reward ${formatKms(outcome.reward)} KMS (transaction ${outcome.txHash})`,
      ),
    );
  }

  async function doDecrypt(): Promise<void> {
    log.replaceChildren();
    const started = performance.now();
    const grantText = grantFile.files?.[0] ? await grantFile.files[0].text() : valueOf("bob-grant-text");
    if (!grantText) throw new UserError("give the grant file Alice published");
    const recorded = parseGrant(grantText);
    const sk = await storedKey();
    if (!sk) throw new KeyFileError("there is no receiving key in this browser: make or import one first");
    // Checked before any node is asked or anything is read, as `kms retrieve-decrypt` does.
    checkReceivingKey(recorded, sk);
    const source = await sealedSource(sealedFile.files?.[0], valueOf("bob-url"));
    const { contracts } = app();
    let grant = recorded;
    try {
      const resolved = await resolveGrantNodes(recorded, contracts.nodeDirectory);
      grant = resolved.grant;
      resolved.notes.forEach((n) => say(n));
    } catch (error) {
      say(
        `warning: could not look the nodes up on the chain (${(error as Error).message}); using the grant's URLs`,
        "warning",
      );
    }
    const name = source.name.replace(/\.sealed$/, "") || "plaintext";
    const target = await saveTarget(name, toDisk.checked);
    progress.busy(`asking ${grant.nodes.length} node(s) for ${grant.threshold} cfrag(s)…`);
    const total = source.size;
    let written = 0;
    try {
      const plaintext = decryptStream(grant, sk, chunksOf(source.stream), {
        onProgress: (message) => {
          say(message);
          if (written === 0) progress.busy(message);
        },
        onWarning: (message) => say(`warning: ${message}`, "warning"),
        onBytes: (done) =>
          total
            ? progress.set(done, total, `decrypting: ${bytes(done)} of about ${bytes(total)}`)
            : progress.busy(`decrypting: ${bytes(done)}`),
        auditAll: audit.checked,
        isOperatorOf: escrowOperatorCheck(contracts.escrow),
        onCheat,
        saveEvidence: (file, evidence) => {
          log.append(
            h(
              "li",
              { class: "warning" },
              downloadLink([evidenceToJson(evidence)], file, `evidence-${file}`, "application/json"),
            ),
          );
          return `evidence kept: save ${file} from the page and submit it with: npx hardhat kms report --evidence ${file}`;
        },
      });
      for await (const chunk of plaintext) {
        await target.write(chunk);
        written += chunk.length;
      }
    } catch (error) {
      await target.abort();
      progress.finish("stopped");
      throw error;
    }
    const parts = await target.close();
    const ms = Math.round(performance.now() - started);
    progress.finish(`decrypted ${bytes(written)}`);
    outcome.ok(
      h("p", { id: "decrypted", "data-bytes": written, "data-ms": ms }, `Decrypted ${bytes(written)} in ${ms} ms.`),
      parts ? downloadLink(parts, name, "plaintext-download") : h("p", {}, `written to ${name}`),
    );
  }

  root.replaceChildren(
    h("h2", {}, "Bob"),
    h("h3", {}, "Receiving key"),
    keyLine,
    h(
      "div",
      { class: "row" },
      button("Make a key", "bob-make-key", keyOutcome, makeKey),
      button("Export", "bob-export-key", keyOutcome, exportKey),
    ),
    field(
      "Import a key",
      h("input", { id: "bob-import", size: "70", placeholder: "64 hex digits (a kms keygen key file's line)" }),
    ),
    field("or a key file", importFile),
    button("Import", "bob-import-key", keyOutcome, importKey),
    keyOutcome.el,
    h("h3", {}, "Open a sealed file"),
    field("Grant", grantFile, "the grant Alice published"),
    field("or grant JSON", h("textarea", { id: "bob-grant-text", rows: 2, cols: 70 })),
    field("Sealed file", sealedFile),
    field(
      "or its URL",
      h("input", {
        id: "bob-url",
        size: "70",
        placeholder: "https://… (the server must allow this page's origin: CORS)",
      }),
    ),
    field("Write to disk as it goes", toDisk, "asks where to save first (browsers with the File System Access API)"),
    field("Audit every node", audit, "wait for every node's cfrag (slower), so that every cheater is caught"),
    field(
      "Report cheating nodes",
      report,
      "evidence goes to the Adjudicator from the account below; the reward is yours",
    ),
    field("Account", account.el),
    button("Retrieve and decrypt", "decrypt", outcome, doDecrypt),
    progress.el,
    outcome.el,
    verdicts,
    log,
  );
  await showKey();
}
