// The node's kfrag store: put/get/delete, durability across a kill -9 of the process that wrote, versions
// that refuse older deliveries, and kfrags lost to a damaged LevelDB log detected through the journal.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KFragStore, KFragStoreError, type StoredKFrag } from "../../src/node/store";
import { damageWriteAheadLog } from "../support/leveldb";

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
    rmSync(`${dir}.journal`, { force: true });
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

  it("detects kfrags a damaged LevelDB log dropped, and reports them until re-delivered or deleted", async function () {
    const ids = Array.from({ length: 20 }, (_, i) => "0x" + i.toString(16).padStart(32, "0"));
    let store = await KFragStore.open(dir);
    for (const id of ids) await store.put(record(id));
    await store.close();
    damageWriteAheadLog(dir);

    store = await KFragStore.open(dir);
    const held = await store.count();
    // LevelDB itself says nothing: it opens, holding fewer kfrags than it acknowledged.
    expect(held).to.be.lessThan(20);
    const lost = store.lost();
    expect(lost).to.have.length(20 - held);
    for (const id of lost) expect(await store.get(id)).to.equal(undefined);
    await store.close();

    // Still reported after another restart; a re-delivery and a deletion each clear one.
    store = await KFragStore.open(dir);
    expect(store.lost().sort()).to.deep.equal([...lost].sort());
    await store.put(record(lost[0]));
    if (lost.length > 1) expect(await store.delete(lost[1])).to.equal(false);
    expect(store.lost()).to.have.length(Math.max(0, lost.length - 2));
    expect(store.deleted()).to.equal(0);
    await store.close();
  });

  it("keeps the newest kfrag set: an older version is stale, another delivery of the same version a conflict", async function () {
    const store = await KFragStore.open(dir);
    const id = "0x" + "cd".repeat(16);
    const v = (version: number, deliveryId: string) => ({ ...record(id), version, deliveryId });
    expect(await store.putNewer(v(2, "0x02"))).to.deep.equal({ outcome: "stored" });
    expect((await store.putNewer(v(1, "0x01"))).outcome).to.equal("stale");
    expect((await store.putNewer(v(2, "0x0202"))).outcome).to.equal("conflict");
    expect(await store.putNewer(v(2, "0x02"))).to.deep.equal({ outcome: "unchanged" });
    // Racing deliveries: whatever the order, the highest version wins.
    await Promise.all([5, 3, 4].map((n) => store.putNewer(v(n, `0x0${n}`))));
    expect((await store.get(id))?.version).to.equal(5);
    await store.close();
  });

  it("counts deletions across restarts, and only of kfrags it held", async function () {
    let store = await KFragStore.open(dir);
    await store.put(record("0x" + "01".repeat(16)));
    expect(await store.delete("0x" + "01".repeat(16))).to.equal(true);
    expect(await store.delete("0x" + "01".repeat(16))).to.equal(false);
    expect(await store.delete("0x" + "02".repeat(16))).to.equal(false);
    await store.close();
    store = await KFragStore.open(dir);
    expect(store.deleted()).to.equal(1);
    expect(store.lost()).to.deep.equal([]);
    await store.close();
  });
});
