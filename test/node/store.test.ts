// The node's kfrag store: put/get/delete, and durability across a kill -9 of the process that wrote.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KFragStore, KFragStoreError, type StoredKFrag } from "../../src/node/store";

function record(policyId: string): StoredKFrag {
  return {
    policyId,
    kfrag: "0x" + "ab".repeat(310),
    delegatingKey: "0x02" + "11".repeat(32),
    receivingKey: "0x03" + "22".repeat(32),
    verifyingKey: "0x02" + "33".repeat(32),
    receivedAt: 1_700_000_000_000,
  };
}

describe("KFragStore", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "kms-store-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores, finds (case-insensitively) and deletes kfrags by policy id", async function () {
    const store = await KFragStore.open(dir);
    const id = "0x" + "Ab".repeat(32);
    expect(await store.get(id)).to.equal(undefined);
    await store.put(record(id));
    expect(await store.get(id.toLowerCase())).to.deep.equal(record(id));
    expect(await store.count()).to.equal(1);
    await store.delete(id);
    expect(await store.get(id)).to.equal(undefined);
    expect(await store.count()).to.equal(0);
    await store.close();
  });

  it("keeps what it acknowledged when the writing process is killed with SIGKILL", async function () {
    const script = `
      const { KFragStore } = require(${JSON.stringify(path.resolve(__dirname, "../../src/node/store.ts"))});
      (async () => {
        const store = await KFragStore.open(${JSON.stringify(dir)});
        for (let i = 0; i < 20; i++) {
          await store.put({ policyId: "0x" + i.toString(16).padStart(64, "0"), kfrag: "0x00", delegatingKey: "",
            receivingKey: "", verifyingKey: "", receivedAt: i });
        }
        process.stdout.write("written\\n");
        setInterval(() => {}, 1000); // stay alive until killed, store still open
      })();`;
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("written") && resolve());
      child.on("exit", (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("close", resolve));

    const store = await KFragStore.open(dir);
    expect(await store.count()).to.equal(20);
    expect((await store.get("0x" + "13".padStart(64, "0")))?.receivedAt).to.equal(19);
    await store.close();
  });

  it("refuses a second process's open with a clear error (LevelDB lock)", async function () {
    const first = await KFragStore.open(dir);
    const second = await KFragStore.open(dir).catch((e: unknown) => e);
    // classic-level allows one opener per process; the same process gets the lock error too
    expect(second).to.be.instanceOf(KFragStoreError);
    expect((second as Error).message).to.match(/cannot open kfrag store/);
    await first.close();
  });
});
