// Bob in Node: ./bob with files. Evidence that could not be reported is saved to a file (by default in the
// system's temporary directory), and decryptFile reads a sealed file and writes the plaintext (./output).
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeEvidenceFile } from "../slashing/file";
import type { SecretKey, Capsule, VerifiedCapsuleFrag } from "../umbral";
import * as bob from "./bob";
import type { EvidenceSaver, RetrieveOptions } from "./bob";
import type { PolicyGrant } from "./grant";
import { writeOutputFile } from "./output";

export * from "./bob";

/** {@link RetrieveOptions} in Node: evidence is saved to a file unless `saveEvidence` says otherwise. */
export interface NodeRetrieveOptions extends RetrieveOptions {
  /** Where evidence is saved when it cannot be reported; default the system's temporary directory. */
  evidenceDir?: string;
}

/** An {@link EvidenceSaver} that writes each evidence file into `dir` (default: the temporary directory). */
export function evidenceFileSaver(dir: string = tmpdir()): EvidenceSaver {
  return (name, file) => {
    const target = path.join(dir, name);
    try {
      writeEvidenceFile(target, file);
    } catch (error) {
      return `evidence could not be saved to ${target}: ${(error as Error).message}`;
    }
    return `evidence saved to ${target} (submit it with: npx hardhat kms report --evidence ${target})`;
  };
}

function withFiles<T extends NodeRetrieveOptions>(options: T): T {
  return { saveEvidence: evidenceFileSaver(options.evidenceDir), ...options };
}

/** {@link bob.retrieveCFrags}, saving unreported evidence to files. */
export function retrieveCFrags(
  grant: PolicyGrant,
  capsule: Capsule,
  options: NodeRetrieveOptions = {},
): Promise<VerifiedCapsuleFrag[]> {
  return bob.retrieveCFrags(grant, capsule, withFiles(options));
}

/** {@link bob.decryptStream}, saving unreported evidence to files. */
export function decryptStream(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: AsyncIterable<Uint8Array>,
  options: NodeRetrieveOptions & { onBytes?: (bytes: number) => void } = {},
): AsyncGenerator<Uint8Array> {
  return bob.decryptStream(grant, receivingSk, sealed, withFiles(options));
}

/** {@link bob.decryptBytes}, saving unreported evidence to files. */
export function decryptBytes(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: Uint8Array,
  options: NodeRetrieveOptions = {},
): Promise<Uint8Array> {
  return bob.decryptBytes(grant, receivingSk, sealed, withFiles(options));
}

/**
 * Retrieves and decrypts the sealed file `inPath` into `outPath`, mode 0600, refusing an existing `outPath`
 * unless `overwrite` and never writing over `inPath`. Evidence that could not be reported is saved beside
 * `outPath` unless `evidenceDir` says otherwise.
 */
export async function decryptFile(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  inPath: string,
  outPath: string,
  options: NodeRetrieveOptions & { onBytes?: (bytes: number) => void; overwrite?: boolean } = {},
): Promise<void> {
  // Written beside the target under an unpredictable name, created exclusively with mode 0600 and never
  // through a symbolic link, then renamed (./output): a failure never leaves a truncated plaintext behind, and
  // no one else can read the plaintext at any point, whatever the umask.
  const withEvidence = { evidenceDir: path.dirname(path.resolve(outPath)), ...options };
  bob.checkReceivingKey(grant, receivingSk);
  await writeOutputFile(outPath, decryptStream(grant, receivingSk, createReadStream(inPath), withEvidence), {
    inputs: [inPath],
    overwrite: options.overwrite,
    mode: 0o600,
  });
}
