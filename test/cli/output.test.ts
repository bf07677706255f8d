// Output files are written whole or not at all, never over an input, never over an existing file unless told
// (src/client/output.ts), in process; test/cli/commands.test.ts runs the same rules through the commands.
import { expect } from "chai";
import {
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  checkOutputPath,
  OutputExistsError,
  OutputIsDirectoryError,
  OutputIsInputError,
  writeOutputFile,
  writeOutputText,
} from "../../src/client/output";

describe("output files", function () {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  const partials = () => readdirSync(dir).filter((f) => f.endsWith(".partial"));

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "kms-output-"));
    writeFileSync(file("in.txt"), "input\n");
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses an output that is an input by path, hard link or symbolic link, even when overwriting", function () {
    linkSync(file("in.txt"), file("hard.txt"));
    symlinkSync(file("in.txt"), file("soft.txt"));
    for (const out of ["in.txt", "hard.txt", "soft.txt"]) {
      expect(() => checkOutputPath(file(out), { inputs: [file("in.txt")], overwrite: true })).to.throw(
        OutputIsInputError,
        /would destroy the input/,
      );
    }
    expect(readFileSync(file("in.txt"), "utf8")).to.equal("input\n");
  });

  it("refuses an existing output unless overwriting, and a directory always", async function () {
    writeFileSync(file("out.txt"), "old\n");
    await expect(writeOutputText(file("out.txt"), "new\n")).to.be.rejectedWith(OutputExistsError, /--force/);
    expect(readFileSync(file("out.txt"), "utf8")).to.equal("old\n");
    await writeOutputText(file("out.txt"), "new\n", { overwrite: true });
    expect(readFileSync(file("out.txt"), "utf8")).to.equal("new\n");
    expect(() => checkOutputPath(dir, { overwrite: true })).to.throw(OutputIsDirectoryError);
    expect(partials()).to.deep.equal([]);
  });

  it("leaves the output's name untouched and no partial file when the content fails midway", async function () {
    writeFileSync(file("out.txt"), "old\n");
    async function* failing() {
      yield Buffer.from("half of it");
      throw new Error("disk on fire");
    }
    await expect(writeOutputFile(file("out.txt"), failing(), { overwrite: true })).to.be.rejectedWith(/disk on fire/);
    await expect(writeOutputFile(file("new.txt"), failing())).to.be.rejectedWith(/disk on fire/);
    expect(readFileSync(file("out.txt"), "utf8")).to.equal("old\n");
    expect(existsSync(file("new.txt"))).to.equal(false);
    expect(partials()).to.deep.equal([]);
  });

  it("does not replace a file that appeared at the output while writing (no --force)", async function () {
    const out = file("race.txt");
    async function* racing() {
      yield Buffer.from("mine");
      writeFileSync(out, "theirs");
    }
    await expect(writeOutputFile(out, racing())).to.be.rejectedWith(OutputExistsError);
    expect(readFileSync(out, "utf8")).to.equal("theirs");
    expect(partials()).to.deep.equal([]);
  });

  it("creates the file with the mode asked for, whatever the umask", async function () {
    const previous = process.umask(0o077);
    try {
      await writeOutputText(file("public.txt"), "x", { mode: 0o644 });
    } finally {
      process.umask(previous);
    }
    expect(statSync(file("public.txt")).mode & 0o777).to.equal(0o644);
  });
});
