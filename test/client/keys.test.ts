// Key files against a hostile file system: a symbolic link planted where a key is about to be created (the
// check-then-write race, frozen), key files others can read, owned by someone else, or that are not files.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AliceKeys, createKeyFile, KeyFileError, readSecretKeyFile } from "../../src/client/keys";

const SECRET = "11".repeat(32) + "\n";

describe("client key files", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "kms-keys-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Asserts `run` throws a KeyFileError whose message matches `pattern`. */
  function expectKeyFileError(run: () => unknown, pattern: RegExp): void {
    let thrown: unknown;
    try {
      run();
    } catch (e) {
      thrown = e;
    }
    expect(thrown, "expected a KeyFileError").to.be.instanceOf(KeyFileError);
    expect((thrown as Error).message).to.match(pattern);
  }

  function keyFile(name: string, mode: number, content = SECRET): string {
    const file = path.join(dir, name);
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
    return file;
  }

  describe("creation", function () {
    it("creates a 0600 file holding a key that reads back", function () {
      const file = path.join(dir, "bob.key");
      createKeyFile(file);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      const key = readSecretKeyFile(file);
      expect(readFileSync(file, "utf8").trim()).to.equal(Buffer.from(key.toBEBytes()).toString("hex"));
    });

    it("refuses a dangling symbolic link planted at the path, and writes nothing at its target", function () {
      // What an attacker racing `kms keygen` leaves between the existence check and the write.
      const target = path.join(dir, "stolen.key");
      const link = path.join(dir, "bob.key");
      symlinkSync(target, link);
      expectKeyFileError(() => createKeyFile(link), /is a symbolic link; refusing to create a key through it/);
      expect(existsSync(target)).to.equal(false);
      expect(lstatSync(link).isSymbolicLink()).to.equal(true);
    });

    it("refuses a symbolic link to an existing file, which stays untouched", function () {
      const target = keyFile("other", 0o644, "not a key\n");
      const link = path.join(dir, "bob.key");
      symlinkSync(target, link);
      expectKeyFileError(() => createKeyFile(link), /symbolic link/);
      expect(readFileSync(target, "utf8")).to.equal("not a key\n");
    });

    it("refuses to overwrite an existing key", function () {
      const file = keyFile("bob.key", 0o600);
      expectKeyFileError(() => createKeyFile(file), /already exists; refusing to overwrite it/);
      expect(readFileSync(file, "utf8")).to.equal(SECRET);
    });
  });

  describe("reading", function () {
    it("refuses a key file group or others can read (0644, 0640), naming the fix", function () {
      for (const mode of [0o644, 0o640, 0o604]) {
        const file = keyFile(`k${mode.toString(8)}`, mode);
        expectKeyFileError(() => readSecretKeyFile(file), new RegExp(`mode 0${mode.toString(8)}.*chmod 600`));
        expectKeyFileError(() => AliceKeys.fromFile(file), /group or others can access the secret/);
      }
    });

    it("accepts 0600 and 0400", function () {
      expect(readSecretKeyFile(keyFile("a", 0o600)).toBEBytes()).to.deep.equal(new Uint8Array(32).fill(0x11));
      expect(readSecretKeyFile(keyFile("b", 0o400)).toBEBytes()).to.deep.equal(new Uint8Array(32).fill(0x11));
    });

    it("refuses a key file owned by another user", function () {
      const file = keyFile("bob.key", 0o600);
      const me = process.getuid!();
      if (me === 0) {
        chownSync(file, 54321, 54321);
        expectKeyFileError(() => readSecretKeyFile(file), /owned by uid 54321, not by you \(uid 0\)/);
      } else {
        // Not root: a file we cannot chown away; any root-owned regular file stands in for one.
        expectKeyFileError(() => readSecretKeyFile("/etc/hostname"), new RegExp(`owned by uid 0, not by you`));
      }
    });

    it("names a dangling symbolic link distinctly from a missing file", function () {
      const link = path.join(dir, "bob.key");
      symlinkSync(path.join(dir, "gone.key"), link);
      expectKeyFileError(() => readSecretKeyFile(link), /is a dangling symbolic link/);
      expectKeyFileError(() => readSecretKeyFile(path.join(dir, "none.key")), /does not exist \(create it/);
    });

    it("refuses a FIFO at the path without blocking on it", function () {
      const fifo = path.join(dir, "bob.key");
      execFileSync("mkfifo", ["-m", "600", fifo]);
      expectKeyFileError(() => readSecretKeyFile(fifo), /is not a regular file/);
    });

    it("refuses a file too long or not hex", function () {
      expectKeyFileError(() => readSecretKeyFile(keyFile("long", 0o600, "11".repeat(200))), /too long/);
      expectKeyFileError(() => readSecretKeyFile(keyFile("bad", 0o600, "zz".repeat(32))), /32-byte hex secret/);
    });
  });
});

describe("client key files in a browser build (src/client/key-files.browser.ts)", function () {
  it("refuses every file operation with a KeyFileError naming the file", async function () {
    const browser = await import("../../src/client/key-files.browser");
    for (const attempt of [
      () => browser.readSecretHex("alice.key"),
      () => browser.createKeyFile("alice.key"),
      () => browser.readSecretKeyFile("alice.key"),
    ]) {
      expect(attempt).to.throw(KeyFileError, /^key file alice\.key cannot be used in a browser: import the key/);
    }
  });

  it("exports every name the Node module exports, so keys.ts resolves in both builds", async function () {
    const node = await import("../../src/client/key-files");
    const browser = await import("../../src/client/key-files.browser");
    expect(Object.keys(browser).sort()).to.deep.equal(Object.keys(node).sort());
  });
});
