// Network tasks: make keys, grant and revoke, encrypt, retrieve and decrypt (running a node: tasks/node.ts).
// Thin: parse arguments, call src/node and src/client, print.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { types } from "hardhat/config";
import { hexlify } from "ethers";
import { kms } from "./scope";
import { signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { parseKms, formatKms } from "../src/units";
import { AliceKeys, createKeyFile, parsePublicKey, readSecretKeyFile } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptFile } from "../src/client/enrico";
import { decryptFile, escrowOperatorCheck } from "../src/client/bob";
import { reportEvidence } from "../src/slashing";
import { parseGrant, publicKeyOf } from "../src/client/grant";
import { parsePeriods } from "../src/staking";

function readGrant(file: string) {
  return parseGrant(readFileSync(file, "utf8"));
}

/** A progress printer for byte counts: one line per 10%, so logs stay readable. */
function byteProgress(what: string, total: number) {
  let shown = -1;
  return (done: number) => {
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (tenth > shown) {
      shown = tenth;
      console.log(`${what}: ${Math.min(100, tenth * 10)}% (${done} of ${total} bytes)`);
    }
  };
}

kms
  .task("keygen", "Writes a new Umbral secret key file (Alice's key seed or Bob's receiving key)")
  .addParam("out", "File to create (mode 0600; never overwritten)", undefined, types.string)
  .setAction(async ({ out }: { out: string }) => {
    createKeyFile(out);
    const bob = readSecretKeyFile(out);
    console.log(`wrote ${out}`);
    console.log(`as Bob's key, its public (receiving) key is ${hexlify(bob.publicKey().toCompressedBytes())}`);
  });

kms
  .task("grant", "Alice grants Bob m-of-n access: samples nodes, pays the policy, delivers kfrags; writes the grant")
  .addParam("aliceKey", "Alice's key file (kms keygen)", undefined, types.string)
  .addParam("bob", "Bob's receiving public key, 33-byte hex", undefined, types.string)
  .addParam("threshold", "m: cfrags Bob needs", undefined, types.int)
  .addParam("shares", "n: nodes that get a kfrag", undefined, types.int)
  .addParam("periods", "How many periods the policy lasts", undefined, types.string)
  .addParam("feeRate", "KMS per node per period, e.g. 0.01", undefined, types.string)
  .addParam("out", "Where to write the grant (JSON, public)", undefined, types.string)
  .addOptionalParam("nodes", "Comma-separated stakers to use instead of sampling by stake", undefined, types.string)
  .addOptionalParam("from", "Alice's Ethereum account (pays, owns the policy)", undefined, types.string)
  .setAction(
    async (
      args: {
        aliceKey: string;
        bob: string;
        threshold: number;
        shares: number;
        periods: string;
        feeRate: string;
        out: string;
        nodes?: string;
        from?: string;
      },
      hre,
    ) => {
      const contracts = await loadDeployment(hre);
      const result = await grant(contracts, {
        owner: await signerFor(hre, args.from),
        keys: AliceKeys.fromFile(args.aliceKey),
        receivingKey: parsePublicKey(args.bob, "--bob"),
        threshold: args.threshold,
        shares: args.shares,
        periods: parsePeriods("policy periods", args.periods),
        feeRate: parseKms(args.feeRate),
        nodes: args.nodes?.split(",").map((n) => hre.ethers.getAddress(n.trim())),
        onProgress: (message) => console.log(message),
      });
      writeFileSync(args.out, JSON.stringify(result, null, 2) + "\n");
      console.log(
        `policy ${result.policyId}: ${result.threshold}-of-${result.nodes.length}, grant written to ${args.out}`,
      );
      console.log(`policy key (give it to Enrico): ${result.delegatingKey}`);
    },
  );

kms
  .task("revoke", "Alice revokes the policy of a grant file (kms revoke-policy by the grant's policy id)")
  .addParam("grant", "The grant file", undefined, types.string)
  .addOptionalParam("from", "The policy owner's account", undefined, types.string)
  .setAction(async (args: { grant: string; from?: string }, hre) => {
    const { policyId } = readGrant(args.grant);
    return hre.run({ scope: "kms", task: "revoke-policy" }, { id: policyId, from: args.from });
  });

kms
  .task("encrypt", "Enrico encrypts a file of any size to a policy's key (no chain access needed)")
  .addParam("in", "Plaintext file", undefined, types.string)
  .addParam("out", "Sealed file to write", undefined, types.string)
  .addOptionalParam("grant", "The grant file (its policy key is used)", undefined, types.string)
  .addOptionalParam("policyKey", "The policy key, 33-byte hex, instead of --grant", undefined, types.string)
  .setAction(async (args: { in: string; out: string; grant?: string; policyKey?: string }) => {
    if (!args.grant === !args.policyKey) throw new Error("give exactly one of --grant and --policy-key");
    const key = args.grant
      ? publicKeyOf(readGrant(args.grant).delegatingKey)
      : parsePublicKey(args.policyKey!, "--policy-key");
    const size = statSync(args.in).size;
    await encryptFile(key, args.in, args.out, { onProgress: byteProgress("encrypting", size) });
    console.log(`sealed ${size} bytes into ${args.out}`);
  });

kms
  .task("retrieve-decrypt", "Bob retrieves m cfrags from the policy's nodes, verifies them and decrypts a sealed file")
  .addParam("grant", "The grant file", undefined, types.string)
  .addParam("bobKey", "Bob's key file", undefined, types.string)
  .addParam("in", "Sealed file", undefined, types.string)
  .addParam("out", "Plaintext file to write", undefined, types.string)
  .addOptionalParam("timeout", "Seconds to wait for each node", 10, types.int)
  .addFlag("noReport", "Do not submit evidence against nodes caught cheating")
  .addOptionalParam("from", "Account that submits slashing evidence (and earns the reward)", undefined, types.string)
  .setAction(
    async (
      args: {
        grant: string;
        bobKey: string;
        in: string;
        out: string;
        timeout: number;
        noReport: boolean;
        from?: string;
      },
      hre,
    ) => {
      const policy = readGrant(args.grant);
      const size = statSync(args.in).size;
      await decryptFile(policy, readSecretKeyFile(args.bobKey), args.in, args.out, {
        timeoutMs: args.timeout * 1000,
        onProgress: (message) => console.log(message),
        onBytes: byteProgress("decrypting", size),
        onWarning: (message) => console.warn(`warning: ${message}`),
        // A wrong cfrag is reported only if the escrow confirms its signer is the node's bonded operator.
        isOperatorOf: async (staker, operator) =>
          escrowOperatorCheck((await loadDeployment(hre)).escrow)(staker, operator),
        onCheat: async (cheat) => {
          console.log(`node ${cheat.staker} returned a wrong cfrag it signed: ${cheat.reason}`);
          if (args.noReport) return;
          const { adjudicator } = await loadDeployment(hre);
          const outcome = await reportEvidence(adjudicator, await signerFor(hre, args.from), cheat.evidence);
          console.log(
            `reported: verdict ${outcome.verdictName}, penalty ${formatKms(outcome.penalty)} KMS, reward ${formatKms(outcome.reward)} KMS`,
          );
        },
      });
      console.log(`decrypted into ${args.out}`);
    },
  );
