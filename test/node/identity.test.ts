// The node's key survives a lost disk and cannot be claimed twice: it is derived from a BIP-39 mnemonic shown
// once (`onNewMnemonic`), rebuilt from it into an empty data dir (`recoverMnemonic`), and a node refuses to
// start when its key is not the announced one or another live node holds the announcement, unless told to
// re-announce or take over.
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english";
import type { Signer } from "ethers";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { stakeAndBond } from "../../src/network/local";
import {
  NodeStartError,
  startNode,
  startNodeRetrying,
  type NodeDaemonOptions,
  type RunningNode,
} from "../../src/node/daemon";
import { MnemonicError, nodeKeyFromMnemonic, publicKeyHex, readNodeKey, writeNodeKey } from "../../src/node/identity";
import { SecretKey } from "../../src/umbral";

const KMS = 10n ** 18n;
/** The all-"abandon" test mnemonic (24 words, valid checksum). */
const TEST_MNEMONIC = "abandon ".repeat(23) + "art";

describe("node key derivation", function () {
  it("derives a fixed key from a mnemonic (the derivation must never change)", function () {
    expect(publicKeyHex(nodeKeyFromMnemonic(TEST_MNEMONIC))).to.equal(
      "0x024703417548ba29c07019e21e9921e3b98cff67e56edeb4eaed68d770a29ba1cd",
    );
    // What a person types: case and spacing do not matter.
    expect(publicKeyHex(nodeKeyFromMnemonic(`  ${TEST_MNEMONIC.toUpperCase().replace(/ /g, "   ")}\n`))).to.equal(
      publicKeyHex(nodeKeyFromMnemonic(TEST_MNEMONIC)),
    );
  });

  it("refuses a phrase with a wrong word, a wrong checksum or a missing word", function () {
    for (const bad of ["abandon ".repeat(24).trim(), TEST_MNEMONIC.replace("art", "arty"), "abandon ".repeat(23)]) {
      expect(() => nodeKeyFromMnemonic(bad)).to.throw(MnemonicError, /not a valid BIP-39 mnemonic/);
    }
  });
});

/** What a describe of started nodes shares: a staked and bonded operator, fresh data dirs, cleanup after. */
interface StakedOperator {
  deployment: Deployment;
  operator: Signer;
  /** A fresh data dir, removed after the describe. */
  freshDir: () => string;
  /** Options for a node of the operator in a fresh data dir, its timers out of the way; `overrides` win. */
  options: (overrides?: Partial<NodeDaemonOptions>) => NodeDaemonOptions;
  /** Keeps `node` to be stopped after the describe. */
  track: (node: RunningNode) => RunningNode;
}

/** Registers the describe's hooks: stake and bond an operator before, stop its nodes and remove its dirs after. */
function stakedOperator(): StakedOperator {
  const running: RunningNode[] = [];
  const dirs: string[] = [];
  const fixture: StakedOperator = {
    deployment: undefined as unknown as Deployment,
    operator: undefined as unknown as Signer,
    freshDir() {
      const dir = mkdtempSync(path.join(tmpdir(), "kms-identity-"));
      dirs.push(dir);
      return path.join(dir, "data");
    },
    options(overrides = {}) {
      return {
        ...fixture.deployment,
        operator: fixture.operator,
        dataDir: fixture.freshDir(),
        commitIntervalMs: 3_600_000,
        statusIntervalMs: 3_600_000,
        policyCacheMs: 0,
        ...overrides,
      };
    },
    track(node) {
      running.push(node);
      return node;
    },
  };

  before(async function () {
    fixture.deployment = await loadDeployment(hre);
    const [deployer, staker, op] = await hre.ethers.getSigners();
    fixture.operator = op;
    await stakeAndBond(fixture.deployment, deployer, { staker, operator: op, stake: 100_000n * KMS, lockPeriods: 60n });
  });

  after(async function () {
    for (const node of running) await node.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  return fixture;
}

describe("node identity on start", function () {
  this.timeout(120_000);
  const fixture = stakedOperator();
  const { freshDir } = fixture;
  const start = async (options: Partial<NodeDaemonOptions>) => fixture.track(await startNode(fixture.options(options)));
  const startError = (options: Partial<NodeDaemonOptions>) =>
    start(options).then(
      () => expect.fail("the node started"),
      (e: unknown) => e as Error,
    );

  it("makes a new key from a mnemonic shown once, and rebuilds the same key from it after the disk is lost", async function () {
    let shown: string | undefined;
    const first = await start({ onNewMnemonic: (m) => (shown = m) });
    expect(shown?.split(" ")).to.have.length(24);
    expect(validateMnemonic(shown!, wordlist)).to.equal(true);
    expect(publicKeyHex(first.encryptingKey)).to.equal(publicKeyHex(nodeKeyFromMnemonic(shown!)));
    expect(publicKeyHex(readNodeKey(first.dataDir)!)).to.equal(publicKeyHex(first.encryptingKey));
    await first.stop();
    rmSync(first.dataDir, { recursive: true });

    const announced = await fixture.deployment.nodeDirectory.nodeOf(first.staker);
    let shownAgain = false;
    const recovered = await start({ recoverMnemonic: shown, onNewMnemonic: () => (shownAgain = true) });
    expect(shownAgain).to.equal(false);
    expect(publicKeyHex(recovered.encryptingKey)).to.equal(announced.encryptingKey);
    expect(publicKeyHex(readNodeKey(recovered.dataDir)!)).to.equal(announced.encryptingKey);
    expect((await fixture.deployment.nodeDirectory.nodeOf(first.staker)).encryptingKey).to.equal(
      announced.encryptingKey,
    );
    await recovered.stop();
  });

  it("refuses a data dir without the announced key, unless told to re-announce", async function () {
    const error = await startError({});
    expect(error).to.be.instanceOf(NodeStartError);
    expect(error.message).to.match(/this data dir has no key: rebuild it from the recovery phrase .*--reannounce/);

    const other = freshDir();
    writeNodeKey(other, SecretKey.random());
    const mismatch = await startError({ dataDir: other });
    expect(mismatch.message).to.match(/is not the key staker .* announced/);

    const moved = await start({ dataDir: other, reannounce: true });
    expect((await fixture.deployment.nodeDirectory.nodeOf(moved.staker)).encryptingKey).to.equal(
      publicKeyHex(moved.encryptingKey),
    );
    await moved.stop();
  });

  it("refuses to recover into a data dir holding another key", async function () {
    const dir = freshDir();
    writeNodeKey(dir, SecretKey.random());
    const error = await startError({ dataDir: dir, recoverMnemonic: TEST_MNEMONIC });
    expect(error.message).to.match(/holds another key than the recovery phrase gives/);
  });

  it("refuses to start beside a live node holding the announcement, unless told to take over", async function () {
    const live = await start({ reannounce: true });
    // The same key in another data dir (a copy): only the live node stands in the way.
    const copy = freshDir();
    writeNodeKey(copy, live.encryptingKey);
    const error = await startError({ dataDir: copy });
    expect(error.message).to.match(new RegExp(`another node of staker .* is live at ${live.url}.*--take-over`));

    const taker = await start({ dataDir: copy, takeOver: true });
    expect((await fixture.deployment.nodeDirectory.nodeOf(taker.staker)).url).to.equal(taker.url);
    await live.monitor.refresh();
    const status = await live.monitor.status();
    expect(status.announcement).to.include({ urlMatches: false, keyMatches: true });
  });
});

describe("node start while the chain cannot be reached", function () {
  this.timeout(120_000);
  const fixture = stakedOperator();

  /** The operator, whose first `failures` calls fail as a connection the chain closed fails (undici's words). */
  function flaky(failures: number): Signer {
    let left = failures;
    return new Proxy(fixture.operator, {
      get(target, key) {
        if (key === "call") {
          return (tx: Parameters<Signer["call"]>[0]) => {
            if (left-- > 0)
              return Promise.reject(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }));
            return target.call(tx);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
  const options = (signer: Signer): NodeDaemonOptions => fixture.options({ operator: signer });

  it("tries again, waiting longer each time, and starts once the chain answers", async function () {
    const waits: number[] = [];
    const node = await startNodeRetrying(options(flaky(2)), {
      delayMs: 5,
      onRetry: (attempt, delayMs, e) => {
        expect((e as Error).message).to.include("other side closed");
        waits.push(delayMs);
      },
    });
    fixture.track(node);
    expect(waits).to.deep.equal([5, 10]);
    expect(node.staker).to.equal(await (await hre.ethers.getSigners())[1].getAddress());
  });

  it("gives up after its tries with the chain's error, and never retries any other failure", async function () {
    const retried: number[] = [];
    const onRetry = (attempt: number) => retried.push(attempt);
    const lost = await startNodeRetrying(options(flaky(100)), { attempts: 3, delayMs: 1, onRetry }).then(
      () => expect.fail("the node started"),
      (e: unknown) => e as Error,
    );
    expect(lost.message).to.equal("other side closed");
    expect(retried).to.deep.equal([1, 2]);
    // Not bonded: a refusal, said at once.
    const [, , , stranger] = await hre.ethers.getSigners();
    const refused = await startNodeRetrying(options(stranger), { delayMs: 1, onRetry }).then(
      () => expect.fail("the node started"),
      (e: unknown) => e as Error,
    );
    expect(refused).to.be.instanceOf(NodeStartError);
    expect(retried).to.deep.equal([1, 2]);
  });
});
