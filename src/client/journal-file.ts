// The grant journal on disk (Node only): each save replaces the file atomically (a temporary file beside it,
// fsync, rename, fsync of the directory), so a crash leaves the previous state or the new one, never half of
// one. The journal is mode 0600 (it holds Alice's signed deliveries); a file of another grant is never replaced.
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { parseGrant, type PolicyGrant } from "./grant";
import { parseJournal, type GrantJournal, type GrantJournalStore } from "./journal";

/** Raised when a journal or grant would replace a file that belongs to another grant (or to no grant). */
export class GrantFileConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrantFileConflictError";
  }
}

/** The policy id a grant or journal file at `file` is about; undefined if there is no file; null if it is neither. */
function policyOf(file: string): string | null | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return parseJournal(text).grant.policyId.toLowerCase();
  } catch {
    try {
      return parseGrant(text).policyId.toLowerCase();
    } catch {
      return null;
    }
  }
}

/** Writes `text` to `file` atomically with `mode`: temporary file, fsync, rename, fsync of the directory. */
export function writeFileAtomic(file: string, text: string, mode: number): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(
    temporary,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    mode,
  );
  try {
    fchmodSync(fd, mode);
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(temporary);
    throw e;
  }
  closeSync(fd);
  renameSync(temporary, file);
  try {
    const dir = openSync(path.dirname(file), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some platforms cannot open a directory: the rename is still atomic.
  }
}

/**
 * A journal file and the public grant file beside it. A journal replaces only a journal of the same policy (or
 * nothing); the public grant replaces a grant of the same policy, or anything when `forcePublic` is set.
 */
export class FileJournalStore implements GrantJournalStore {
  constructor(
    readonly journalFile: string,
    readonly publicFile: string,
    private readonly options: { forcePublic?: boolean } = {},
  ) {}

  /** Throws GrantFileConflictError unless both files may be written for `policyId` (call before paying). */
  checkWritable(policyId: string): void {
    const id = policyId.toLowerCase();
    const journal = policyOf(this.journalFile);
    if (journal !== undefined && journal !== id) {
      throw new GrantFileConflictError(
        journal === null
          ? `${this.journalFile} exists and is not a grant journal; refusing to replace it (choose another --out)`
          : `${this.journalFile} is the journal of another grant (policy ${journal}); refusing to replace it ` +
              `(choose another --out, or finish that grant: kms grant --resume ${this.journalFile})`,
      );
    }
    const published = policyOf(this.publicFile);
    if (published !== undefined && published !== id && !this.options.forcePublic) {
      throw new GrantFileConflictError(
        `${this.publicFile} already exists${published ? ` (the grant of policy ${published})` : ""}; ` +
          `refusing to replace it (choose another --out, or --force)`,
      );
    }
  }

  async save(journal: GrantJournal): Promise<void> {
    this.checkWritable(journal.grant.policyId);
    const publicFile = path.relative(path.dirname(path.resolve(this.journalFile)), path.resolve(this.publicFile));
    writeFileAtomic(this.journalFile, JSON.stringify({ ...journal, publicFile }, null, 2) + "\n", 0o600);
  }

  async publish(grant: PolicyGrant): Promise<void> {
    this.checkWritable(grant.policyId);
    writeFileAtomic(this.publicFile, JSON.stringify(grant, null, 2) + "\n", 0o644);
  }

  /** The journal at `file` and a store over it (its public grant where it says, else beside it). */
  static open(file: string): { journal: GrantJournal; store: FileJournalStore } {
    const journal = parseJournal(readFileSync(file, "utf8"), file);
    const publicFile = journal.publicFile
      ? path.resolve(path.dirname(path.resolve(file)), journal.publicFile)
      : file.replace(/\.alice\.json$/, ".json");
    return { journal, store: new FileJournalStore(file, publicFile, { forcePublic: false }) };
  }
}
