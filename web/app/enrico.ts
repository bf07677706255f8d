// Enrico's page: encrypt a file to a policy's key (from a grant or pasted), then save the sealed file. The file
// is read as a stream; the sealed chunks go to a file picked with the File System Access API when the browser
// has it, else into Blob parts that the browser may keep out of the page's memory, downloaded at the end.
import { encryptStream, parseGrant, parsePublicKey, publicKeyOf, UserError, type PublicKey } from "../lib";
import { button, bytes, chunksOf, downloadLink, field, h, Outcome, Progress, valueOf } from "./ui";
import { saveTarget } from "./save";

export async function enricoPage(root: HTMLElement): Promise<void> {
  const grantFile = h("input", { type: "file", id: "enrico-grant", accept: ".json,application/json" });
  const plainFile = h("input", { type: "file", id: "enrico-file" });
  const toDisk = h("input", { type: "checkbox", id: "enrico-to-disk" });
  const progress = new Progress("encrypt");
  const outcome = new Outcome("encrypt");

  async function policyKey(): Promise<PublicKey> {
    const pasted = valueOf("enrico-policy-key");
    const grant = grantFile.files?.[0];
    if (pasted && grant) throw new UserError("give the grant or the policy key, not both");
    if (pasted) return parsePublicKey(pasted, "the policy key");
    if (grant) return publicKeyOf(parseGrant(await grant.text()).delegatingKey);
    throw new UserError("give the grant file or the policy key");
  }

  async function doEncrypt(): Promise<void> {
    const key = await policyKey();
    const file = plainFile.files?.[0];
    if (!file) throw new UserError("choose a file to encrypt");
    const name = `${file.name}.sealed`;
    const target = await saveTarget(name, toDisk.checked);
    progress.set(0, file.size, "encrypting…");
    const sealed = encryptStream(key, chunksOf(file.stream()), {
      onProgress: (done) => progress.set(done, file.size, `encrypting: ${bytes(done)} of ${bytes(file.size)}`),
    });
    let written = 0;
    try {
      for await (const part of sealed) {
        await target.write(part);
        written += part.length;
      }
    } catch (error) {
      await target.abort();
      progress.finish("stopped");
      throw error;
    }
    const parts = await target.close();
    progress.finish(`sealed ${bytes(file.size)} into ${bytes(written)}`);
    outcome.ok(
      h("p", {}, `Sealed ${file.name} (${bytes(file.size)}) to the policy: only its Bob can open it.`),
      parts ? downloadLink(parts, name, "sealed-download") : h("p", {}, `written to ${name}`),
    );
  }

  root.replaceChildren(
    h("h2", {}, "Enrico"),
    h("p", {}, "Anyone with a policy's key can encrypt to it; no chain access is needed."),
    field("Grant", grantFile, "the grant Alice published (its policy key is used)"),
    field("or policy key", h("input", { id: "enrico-policy-key", size: "70", placeholder: "0x02…" })),
    field("File", plainFile),
    field("Write to disk as it goes", toDisk, "asks where to save first (browsers with the File System Access API)"),
    button("Encrypt", "encrypt", outcome, doEncrypt),
    progress.el,
    outcome.el,
  );
}
