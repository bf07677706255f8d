// The `kms` commands as people run them: real `hardhat kms …` child processes against a `hardhat node` of this
// file's own (a free loopback port, stopped in `after`), on a headless machine (no DISPLAY, CI=true: Hardhat
// would print a stack trace after any error reaching it). Every mistake must print one line on stderr, no
// stack trace, no hex selector, no wei, exit 1, and change nothing: no block is mined by any of them, and
// the files they name are left as they were. Files are written whole or not at all (same inode, overwrite,
// interrupted write).
import { expect } from "chai";
import { existsSync, linkSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { JsonRpcProvider, hexlify, type Signer } from "ethers";
import { CliWorld, finished, freePort, inParallel, killGroup, type CommandResult } from "./harness";
import { KMSToken__factory, StakingEscrow__factory } from "../../typechain-types";
import { SecretKey, SecretKeyFactory, Signer as UmbralSigner } from "../../src/umbral";
import { encryptBytes } from "../../src/client/enrico";
import type { PolicyGrant } from "../../src/client/grant";

/** What every failed command must look like. */
function expectMistake(result: CommandResult, message: RegExp): void {
  const shown = `kms ${result.args.slice(1).join(" ")}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, shown).to.equal(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines, shown).to.have.length(1);
  expect(lines[0], shown).to.match(/^error: /);
  expect(lines[0], shown).to.match(message);
  const all = result.stdout + result.stderr;
  expect(all, shown).not.to.match(/^\s+at /m); // a stack frame
  expect(all, shown).not.to.match(/\b0x[0-9a-fA-F]{8}\b/); // a bare 4-byte selector (addresses are longer)
  expect(all, shown).not.to.match(/\bwei\b|unexpected error|HardhatError|--show-stack-traces/);
}

function expectSuccess(result: CommandResult): void {
  expect(result.code, `kms ${result.args.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
}

describe("kms commands (child processes against a hardhat node)", function () {
  this.timeout(300_000);
  const world = new CliWorld();
  let provider: JsonRpcProvider;
  let addresses: Record<string, string>;
  let accounts: Signer[];

  /** Everything a mistake could change: the block height, and balances and stakes of the first 8 accounts. */
  async function chainState(): Promise<string> {
    const token = KMSToken__factory.connect(addresses["KMS#KMSToken"], provider);
    const escrow = StakingEscrow__factory.connect(addresses["KMS#StakingEscrow"], provider);
    const parts: string[] = [String(await provider.getBlockNumber())];
    for (const account of accounts.slice(0, 8)) {
      const address = await account.getAddress();
      parts.push(String(await token.balanceOf(address)), String(await escrow.stakeOf(address)));
    }
    return parts.join(",");
  }

  before(async function () {
    await world.startChain();
    const deployed = await world.hardhat(["ignition", "deploy", path.join(world.ignitionDir, "modules", "KMS.ts")]);
    expectSuccess(deployed);
    addresses = JSON.parse(
      readFileSync(path.join(world.ignitionDir, "deployments", "chain-31337", "deployed_addresses.json"), "utf8"),
    ) as Record<string, string>;
    provider = new JsonRpcProvider(world.rpcUrl, undefined, { staticNetwork: true });
    accounts = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => provider.getSigner(i)));
  });

  after(async function () {
    provider?.destroy();
    await world.stopChain();
    rmSync(world.dir, { recursive: true, force: true });
  });

  it("works as the README walks it: transfer, deposit and lock, bond, status, keys, encrypt", async function () {
    const [transfer, three] = await inParallel(
      [
        () => world.kms(["transfer", "--to", "#1", "--amount", "20000"]),
        () => world.kms(["transfer", "--to", "#3", "--amount", "1000"]),
      ],
      2,
    );
    expectSuccess(transfer);
    expectSuccess(three);
    expect(transfer.stdout).to.match(/sent 20000\.0 KMS to 0x/);
    const deposit = await world.kms(["deposit", "--amount", "20000", "--lock", "60", "--from", "#1"]);
    expectSuccess(deposit);
    expect(deposit.stdout).to.match(/deposited 20000\.0 KMS, locked until period \d+ \(60 periods of 1 day from now\)/);
    const [bond, status, alice, bob] = await inParallel(
      [
        () => world.kms(["bond-operator", "--operator", "#4", "--from", "#1"]),
        () => world.kms(["status"]),
        () => world.kms(["keygen", "--out", world.file("alice.key")]),
        () => world.kms(["keygen", "--out", world.file("bob.key")]),
      ],
      3,
    );
    [bond, status, alice, bob].forEach(expectSuccess);
    expect(status.stdout).to.match(/one period = 1 day/);
    expect(status.stdout).to.match(/account #1 +0x[0-9a-fA-F]{40} {2}0\.0 KMS/);
    writeFileSync(world.file("plain.txt"), "a secret for Bob\n");
  });

  it("prints one line for each of 30 mistakes and changes nothing", async function () {
    const bobPk = (await world.kms(["pubkey", "--key", world.file("bob.key")])).stdout.trim();
    expect(bobPk).to.match(/^0x0[23][0-9a-f]{64}$/);
    const grantFile = await writeGrant(world, addresses, bobPk);
    writeFileSync(world.file("existing.json"), "keep me\n");
    const before = await chainState();
    const plain = world.file("plain.txt");
    const policyKey = JSON.parse(readFileSync(grantFile, "utf8")).delegatingKey as string;
    const mistakes: [string[], RegExp][] = [
      [["deposit", "--amount", "999999", "--from", "#2"], /holds 0\.0 KMS, not enough for a deposit of 999999\.0 KMS/],
      [["deposit", "--amount", "abc"], /--amount "abc" is not an amount of KMS/],
      [["deposit", "--amount", "-5"], /--amount must not be negative/],
      [["deposit"], /missing --amount/],
      [["transfer", "--to", "#2", "--amount", "0"], /--amount must be more than 0 KMS/],
      [
        ["transfer", "--to", "#2", "--amount", "1", "--from", "#99"],
        /"#99" is neither an address nor an account index/,
      ],
      [["deposit", "--amount", "100", "--lock", "60", "--from", "#3"], /below the minimum stake of 15000\.0 KMS/],
      [["withdraw", "--amount", "5", "--from", "#1"], /cannot withdraw 5\.0 KMS: .* can withdraw 0\.0 KMS now/],
      [["lock", "--amount", "1", "--periods", "0", "--from", "#2"], /cannot lock 1\.0 KMS: only 0\.0 KMS/],
      [["prolong", "--periods", "5", "--from", "#3"], /no active lock to prolong/],
      [["commit", "--from", "#2"], /is not the confirmed operator of any staker/],
      [
        ["create-policy", "--sample", "1", "--periods", "5", "--fee-rate", "5000"],
        /outside the allowed range, 0\.001 KMS to 1000\.0 KMS/,
      ],
      [["create-policy", "--sample", "1", "--periods", "5", "--fee-rate", "0.0000000001"], /at most 9 decimals/],
      [["create-policy", "--periods", "5", "--fee-rate", "0.01"], /give exactly one of --nodes and --sample/],
      [["confirm-operator", "--staker", "#1", "--from", "#5"], /refused: .* was not proposed as the operator of/],
      [
        ["set-min-fee-rate", "--rate", "1", "--node", "#1", "--from", "#2"],
        /refused: .* is neither node .* nor its operator/,
      ],
      [["revoke-policy", "--id", "0x1234"], /expected a policy id of 16 bytes/],
      [["policy", "--id", hexlify(randomBytes(16))], /no policy 0x[0-9a-f]{32} was created/],
      [["policy", "--id", hexlify(randomBytes(16)), "--grant", grantFile], /give exactly one of --id and --grant/],
      [
        ["encrypt", "--in", plain, "--out", world.file("x.sealed"), "--grant", grantFile, "--policy-key", policyKey],
        /give exactly one of --grant and --policy-key/,
      ],
      [
        ["encrypt", "--in", world.file("missing.txt"), "--out", world.file("x.sealed"), "--policy-key", policyKey],
        /missing\.txt: no such file or directory/,
      ],
      [
        ["encrypt", "--in", world.dir, "--out", world.file("x.sealed"), "--policy-key", policyKey],
        /is not a regular file/,
      ],
      [["report", "--evidence", world.file("none.json")], /none\.json: no such file or directory|cannot read/],
      [["keygen", "--out", world.file("alice.key")], /already exists; refusing to overwrite it/],
      [
        [
          "grant",
          "--alice-key",
          world.file("alice.key"),
          "--bob",
          bobPk,
          "--threshold",
          "abc",
          "--shares",
          "3",
          "--periods",
          "5",
          "--fee-rate",
          "0.01",
          "--out",
          world.file("g.json"),
        ],
        /--threshold "abc" is not a whole number/,
      ],
      [
        [
          "grant",
          "--alice-key",
          world.file("alice.key"),
          "--bob",
          bobPk,
          "--threshold",
          "3",
          "--shares",
          "2",
          "--periods",
          "5",
          "--fee-rate",
          "0.01",
          "--out",
          world.file("g.json"),
        ],
        /--threshold must be from 1 to 2, got 3/,
      ],
      [
        [
          "grant",
          "--alice-key",
          world.file("alice.key"),
          "--bob",
          bobPk,
          "--threshold",
          "2",
          "--shares",
          "3",
          "--periods",
          "5",
          "--fee-rate",
          "0.01",
          "--out",
          world.file("existing.json"),
        ],
        /existing\.json already exists; refusing to overwrite it \(--force replaces it\)/,
      ],
      [
        [
          "retrieve-decrypt",
          "--grant",
          grantFile,
          "--bob-key",
          world.file("alice.key"),
          "--in",
          world.file("grant.sealed"),
          "--out",
          world.file("out.txt"),
        ],
        /this grant is for the receiving key 0x[0-9a-f]{66}, but the key file holds/,
      ],
      [
        [
          "retrieve-decrypt",
          "--grant",
          grantFile,
          "--bob-key",
          world.file("bob.key"),
          "--in",
          world.file("grant.sealed"),
          "--out",
          world.file("out.txt"),
          "--timeout",
          "2",
        ],
        /got 0 correct cfrag\(s\), need 2: unreachable \([^;]*\) \(3 nodes: 0x[0-9a-fA-F]{40}, 0x[0-9a-fA-F]{40}, 0x[0-9a-fA-F]{40}\)$/,
      ],
      [["transfer", "--to", "#2", "--amount", "1"], /in-process chain, which vanishes .* --network localhost/],
    ];
    const results = await inParallel(
      mistakes.map(
        ([args], i) =>
          () =>
            world.kms(args, i === mistakes.length - 1 ? { network: "hardhat" } : {}),
      ),
      4,
    );
    results.forEach((result, i) => expectMistake(result, mistakes[i][1]));
    expect(await chainState()).to.equal(before);
    expect(readFileSync(world.file("existing.json"), "utf8")).to.equal("keep me\n");
    for (const name of ["x.sealed", "g.json", "out.txt"]) expect(existsSync(world.file(name)), name).to.equal(false);
    expect(readdirSync(world.dir).filter((f) => f.endsWith(".partial"))).to.deep.equal([]);
  });

  describe("files", function () {
    let policyKey: string;

    before(async function () {
      policyKey = hexlify(SecretKey.random().publicKey().toCompressedBytes());
    });

    it("refuses to write over its input: the same path, or another name of the same inode", async function () {
      const plain = world.file("same.txt");
      writeFileSync(plain, "the only copy\n");
      linkSync(plain, world.file("same-link.txt"));
      const results = await inParallel(
        [plain, world.file("same-link.txt")].map(
          (out) => () => world.kms(["encrypt", "--in", plain, "--out", out, "--policy-key", policyKey, "--force"]),
        ),
        2,
      );
      expectMistake(results[0], /same\.txt is both the input and the output; writing it would destroy the input/);
      expectMistake(results[1], /same-link\.txt is the same file as the input .*same\.txt/);
      expect(readFileSync(plain, "utf8")).to.equal("the only copy\n");
    });

    it("refuses to overwrite an output without --force, and replaces it whole with --force", async function () {
      const plain = world.file("over.txt");
      const out = world.file("over.sealed");
      writeFileSync(plain, "new contents\n");
      writeFileSync(out, "an older sealed file\n");
      const refused = await world.kms(["encrypt", "--in", plain, "--out", out, "--policy-key", policyKey]);
      expectMistake(refused, /over\.sealed already exists; refusing to overwrite it \(--force replaces it\)/);
      expect(readFileSync(out, "utf8")).to.equal("an older sealed file\n");
      const forced = await world.kms(["encrypt", "--in", plain, "--out", out, "--policy-key", policyKey, "--force"]);
      expectSuccess(forced);
      expect(readFileSync(out).subarray(0, 4).toString()).to.equal("UKMS");
      expect(readdirSync(world.dir).filter((f) => f.endsWith(".partial"))).to.deep.equal([]);
    });

    it("leaves no output and no partial file when interrupted (SIGINT) while writing", async function () {
      const plain = world.file("large.bin");
      const out = world.file("large.sealed");
      writeFileSync(plain, Buffer.alloc(96 * 1024 * 1024, 7));
      const child = world.spawn(["kms", "encrypt", "--in", plain, "--out", out, "--policy-key", policyKey]);
      const result = finished(child, ["encrypt"], 120_000);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("encrypt never reported progress")), 90_000);
        child.stdout!.on("data", (data: Buffer) => {
          if (/encrypting: [1-9]0%/.test(data.toString())) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      // The partial file exists while writing; the output's name does not.
      expect(readdirSync(world.dir).some((f) => f.startsWith("large.sealed.") && f.endsWith(".partial"))).to.equal(
        true,
      );
      process.kill(child.pid!, "SIGINT");
      const { signal, code, stdout } = await result;
      killGroup(child);
      expect(signal ?? code, stdout).to.not.equal(0);
      expect(stdout).not.to.match(/sealed \d+ bytes/);
      expect(existsSync(out)).to.equal(false);
      expect(readdirSync(world.dir).filter((f) => f.endsWith(".partial"))).to.deep.equal([]);
      expect(statSync(plain).size).to.equal(96 * 1024 * 1024);
      rmSync(plain);
    });
  });

  it("says to redeploy when the chain restarted under a recorded deployment", async function () {
    await world.stopChain();
    await world.startChain();
    const results = await inParallel(
      [() => world.kms(["balance", "--account", "#0"]), () => world.kms(["transfer", "--to", "#1", "--amount", "5"])],
      2,
    );
    for (const result of results) {
      expectMistake(
        result,
        /^error: redeploy: npx hardhat ignition deploy ignition\/modules\/KMS\.ts --network localhost --reset/,
      );
    }
  });
});

/**
 * A grant for a policy that does not exist, served by three stakers that never announced a node, whose
 * recorded URLs point at a closed loopback port; and a file sealed to its key (grant.sealed).
 */
async function writeGrant(world: CliWorld, addresses: Record<string, string>, bobPk: string): Promise<string> {
  const factory = SecretKeyFactory.fromSecureRandomness(randomBytes(32));
  const delegating = factory.makeKey(new TextEncoder().encode("policy"));
  const signer = new UmbralSigner(SecretKey.random());
  const closed = await freePort();
  const grant: PolicyGrant = {
    version: 1,
    chainId: "31337",
    policyManager: addresses["KMS#PolicyManager"],
    adjudicator: addresses["KMS#Adjudicator"],
    policyId: hexlify(randomBytes(16)),
    owner: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    delegatingKey: hexlify(delegating.publicKey().toCompressedBytes()),
    verifyingKey: hexlify(signer.verifyingKey().toCompressedBytes()),
    receivingKey: bobPk,
    threshold: 2,
    nodes: [1, 2, 3].map(() => ({
      staker: hexlify(randomBytes(20)),
      url: `http://127.0.0.1:${closed}`,
    })),
    startPeriod: "0",
    endPeriod: "100",
  };
  const file = world.file("grant.json");
  writeFileSync(file, JSON.stringify(grant, null, 2));
  const sealed = await encryptBytes(delegating.publicKey(), new TextEncoder().encode("for Bob"));
  writeFileSync(world.file("grant.sealed"), sealed);
  return file;
}
