// Network tasks: make keys, grant and revoke, encrypt, retrieve and decrypt (running a node: tasks/node.ts).
// Thin: parse arguments, check inputs and outputs before any work or payment, call src/client, print.
import { existsSync, readFileSync, statSync } from "node:fs";
import { getBytes, hexlify } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { explainFailure, kms } from "./scope";
import { FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { AliceKeys, createKeyFile, parsePublicKey, readSecretKeyFile } from "../src/client/keys";
import { grant, KFragDeliveryFailedError, resumeGrant } from "../src/client/alice";
import { FileJournalStore } from "../src/client/journal-file";
import { GRANT_JOURNAL_KIND } from "../src/client/grant";
import { journalNameFor } from "../src/client/journal";
import { encryptFile } from "../src/client/enrico-node";
import {
  checkReceivingKey,
  conditionRefusalLines,
  decryptFile,
  escrowOperatorCheck,
  NotEnoughCFragsError,
} from "../src/client/bob-node";
import { describeConditions, readConditionsFile } from "./conditions";
import { resolveGrantNodes } from "../src/client/directory";
import { checkOutputPath } from "../src/client/output";
import { reportEvidence } from "../src/slashing";
import { parseGrant, publicKeyOf, type PolicyGrant } from "../src/client/grant";
import { parsePeriods } from "../src/staking";
import { parseFeeRate, randomPolicyId } from "../src/policy";
import { exactlyOne, flag, kmsTypes, parseWhole } from "../src/cli/args";
import { checkPolicyPayment } from "../src/cli/checks";
import { toJson } from "../src/cli/print";
import { ArgumentError, UserError } from "../src/cli/errors";

function readGrant(file: string): PolicyGrant {
  return parseGrant(readFileSync(file, "utf8"));
}

/** Whether `file` holds Alice's journal rather than a public grant. */
function isJournalFile(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { kind?: unknown }).kind === GRANT_JOURNAL_KIND;
  } catch {
    return false;
  }
}

/** The size of an input file, refusing anything but a regular file (a directory, a missing path). */
function inputSize(file: string): number {
  const stat = statSync(file);
  if (!stat.isFile()) throw new UserError(`${file} is not a regular file`);
  return stat.size;
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

const FORCE = "Replace an existing output file (never an input)";

kms
  .task("keygen", "Writes a new Umbral secret key file (Alice's key seed or Bob's receiving key)")
  .addParam("out", "File to create (mode 0600; never overwritten; *.key is ignored by git)", undefined, kmsTypes.file)
  .setAction(async ({ out }: { out: string }) => {
    createKeyFile(out);
    const bob = readSecretKeyFile(out);
    console.log(`wrote ${out}`);
    console.log(`as Bob's key, its public (receiving) key is ${hexlify(bob.publicKey().toCompressedBytes())}`);
  });

kms
  .task("pubkey", "Prints the public (receiving) key of a key file, as --bob of kms grant takes it")
  .addParam("key", "Key file (kms keygen)", undefined, kmsTypes.file)
  .addFlag("json", "Print JSON")
  .setAction(async (args: { key: string; json: boolean }) => {
    const key = hexlify(readSecretKeyFile(args.key).publicKey().toCompressedBytes());
    console.log(args.json ? toJson({ file: args.key, receivingKey: key }) : key);
    return key;
  });

/** The hints that end a failed grant: how to finish it, and how to get the money back when it cannot serve. */
function grantHints(journal: string, belowThreshold: boolean): string {
  return (
    `; finish it later: npx hardhat kms grant --resume ${journal}` +
    (belowThreshold ? `, or revoke it and get the refund: npx hardhat kms revoke --grant ${journal}` : "")
  );
}

/**
 * Runs a grant (new or resumed) to its end, turning every failure after the journal was written into one line that
 * says where the journal is and what to run; with `revokeIfShort`, a policy that cannot reach its threshold is
 * revoked and refunded at once.
 */
async function runJournaled(
  hre: HardhatRuntimeEnvironment,
  journalFile: string,
  revokeIfShort: boolean,
  from: string | undefined,
  run: () => Promise<PolicyGrant>,
): Promise<PolicyGrant | undefined> {
  try {
    return await run();
  } catch (error) {
    if (!existsSync(journalFile)) throw error;
    const line = await explainFailure(hre, error);
    if (error instanceof KFragDeliveryFailedError && error.belowThreshold && revokeIfShort) {
      console.log(`${line}; revoking it (--revoke-if-short)`);
      await revokeJournaled(hre, journalFile, from);
      return undefined;
    }
    const short = error instanceof KFragDeliveryFailedError && error.belowThreshold;
    throw new UserError(line + grantHints(journalFile, short), { cause: error });
  }
}

/** Revokes the policy of a journal (refund included) and marks the journal revoked. */
async function revokeJournaled(hre: HardhatRuntimeEnvironment, journalFile: string, from?: string) {
  const { journal, store } = FileJournalStore.open(journalFile);
  const result = await hre.run({ scope: "kms", task: "revoke-policy" }, { id: journal.grant.policyId, from });
  journal.revoked = true;
  await store.save(journal);
  return result;
}

kms
  .task(
    "grant",
    "Alice grants Bob m-of-n access: samples live nodes, journals, pays the policy, delivers kfrags; writes the grant",
  )
  .addOptionalParam("aliceKey", "Alice's key file (kms keygen) (required unless --resume)", undefined, kmsTypes.file)
  .addOptionalParam(
    "bob",
    "Bob's receiving public key, 33-byte hex (kms pubkey --key bob.key) (required unless --resume)",
    undefined,
    kmsTypes.hex,
  )
  .addOptionalParam("threshold", "m: cfrags Bob needs (required unless --resume)", undefined, kmsTypes.int)
  .addOptionalParam("shares", "n: nodes that get a kfrag (required unless --resume)", undefined, kmsTypes.int)
  .addOptionalParam(
    "periods",
    "How many periods the policy lasts (kms status shows a period's length) (required unless --resume)",
    undefined,
    kmsTypes.periods,
  )
  .addOptionalParam("feeRate", "KMS per node per period, e.g. 0.01 (required unless --resume)", undefined, kmsTypes.kms)
  .addOptionalParam(
    "out",
    "Where to write the public grant (JSON, for Bob and Enrico); Alice's private journal goes beside it as " +
      "<name>.alice.json (required unless --resume)",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam(
    "resume",
    "Finish an interrupted grant from its journal (<grant>.alice.json): pays only if unpaid, delivers what is missing",
    undefined,
    kmsTypes.file,
  )
  .addFlag(
    "revokeIfShort",
    "If fewer nodes than the threshold accept their kfrag, revoke the policy and get the refund",
  )
  .addFlag("force", FORCE)
  .addOptionalParam("nodes", "Comma-separated stakers to use instead of sampling by stake", undefined, kmsTypes.text)
  .addOptionalParam("seed", "Sampling seed as 0x-hex (default random; the journal keeps it)", undefined, kmsTypes.hex)
  .addOptionalParam(
    "conditions",
    "Access conditions the nodes judge every request by: a JSON condition set (docs/conditions.md), checked " +
      "before paying, signed, committed on-chain with the policy",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam("from", `Alice's account: pays and owns the policy. ${FROM}`, undefined, kmsTypes.account)
  .setAction(
    async (
      args: {
        aliceKey?: string;
        bob?: string;
        threshold?: number | string;
        shares?: number | string;
        periods?: string;
        feeRate?: string;
        out?: string;
        resume?: string;
        revokeIfShort: boolean;
        force: boolean;
        nodes?: string;
        seed?: string;
        conditions?: string;
        from?: string;
      },
      hre,
    ) => {
      if (args.resume !== undefined) {
        for (const name of [
          "conditions",
          "aliceKey",
          "bob",
          "threshold",
          "shares",
          "periods",
          "feeRate",
          "out",
          "nodes",
          "seed",
        ] as const) {
          if (args[name] !== undefined) throw new ArgumentError(`--resume takes the journal only, not ${flag(name)}`);
        }
        const { journal, store } = FileJournalStore.open(args.resume);
        if (journal.revoked) throw new UserError(`policy ${journal.grant.policyId} was revoked; nothing to resume`);
        const contracts = await loadDeployment(hre);
        const owner = await signerFor(hre, args.from ?? journal.grant.owner);
        const acknowledged = journal.deliveries.filter((d) => d.acknowledged).length;
        console.log(
          `resuming policy ${journal.grant.policyId}: payment ${journal.payment.state}, ` +
            `${acknowledged} of ${journal.deliveries.length} kfrags acknowledged`,
        );
        const result = await runJournaled(hre, args.resume, args.revokeIfShort, args.from, () =>
          resumeGrant(contracts, owner, journal, store, { onProgress: (message) => console.log(message) }),
        );
        if (result)
          console.log(`policy ${result.policyId}: every node holds its kfrag; grant written to ${store.publicFile}`);
        return result;
      }
      for (const name of ["aliceKey", "bob", "threshold", "shares", "periods", "feeRate", "out"] as const) {
        if (args[name] === undefined) throw new ArgumentError(`missing ${flag(name)} (or --resume <journal>)`);
      }
      // Everything that can be checked is checked before anything is paid.
      const shares = parseWhole(args.shares!, "--shares", 1, 32);
      const threshold = parseWhole(args.threshold!, "--threshold", 1, shares);
      const periods = parsePeriods("policy periods", String(args.periods));
      const feeRate = parseFeeRate(String(args.feeRate));
      const keys = AliceKeys.fromFile(args.aliceKey!);
      const receivingKey = parsePublicKey(args.bob!, "--bob");
      const out = args.out!;
      checkOutputPath(out, { overwrite: args.force });
      const journalFile = journalNameFor(out);
      const store = new FileJournalStore(journalFile, out, { forcePublic: args.force });
      const policyId = randomPolicyId();
      store.checkWritable(policyId);
      const { chainId } = await hre.ethers.provider.getNetwork();
      const conditions = args.conditions === undefined ? undefined : readConditionsFile(args.conditions, chainId);
      if (conditions) console.log(`access conditions: ${describeConditions(conditions)}`);
      const contracts = await loadDeployment(hre);
      const owner = await signerFor(hre, args.from);
      const nodes = args.nodes?.split(",").map((n) => hre.ethers.getAddress(n.trim()));
      await checkPolicyPayment(contracts, owner.address, { feeRate, periods, shares, nodes });

      const result = await runJournaled(hre, journalFile, args.revokeIfShort, args.from, () =>
        grant(contracts, {
          owner,
          keys,
          receivingKey,
          threshold,
          shares,
          periods,
          feeRate,
          nodes,
          policyId,
          seed: args.seed ? getBytes(args.seed) : undefined,
          conditions,
          journal: store,
          onProgress: (message) => console.log(message),
        }),
      );
      if (!result) return undefined;
      console.log(`policy ${result.policyId}: ${result.threshold}-of-${result.nodes.length}, grant written to ${out}`);
      console.log(`policy key (give it to Enrico): ${result.delegatingKey}`);
      console.log(
        `warning: ${journalFile} is Alice's private journal (sealed deliveries, her signatures): keep it, ` +
          `never share it; give Bob and Enrico ${out} only`,
      );
      return result;
    },
  );

kms
  .task("revoke", "Alice revokes the policy of a grant file and gets back everything refundable (kms revoke-policy)")
  .addParam("grant", "The grant file, or Alice's journal (<grant>.alice.json)", undefined, kmsTypes.file)
  .addOptionalParam("from", `The policy owner. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { grant: string; from?: string }, hre) => {
    if (isJournalFile(args.grant)) return revokeJournaled(hre, args.grant, args.from);
    const { policyId } = readGrant(args.grant);
    return hre.run({ scope: "kms", task: "revoke-policy" }, { id: policyId, from: args.from });
  });

kms
  .task("encrypt", "Enrico encrypts a file of any size to a policy's key (no chain access needed)")
  .addParam("in", "Plaintext file", undefined, kmsTypes.file)
  .addParam("out", "Sealed file to write (not the input; written whole or not at all)", undefined, kmsTypes.file)
  .addFlag("force", FORCE)
  .addOptionalParam("grant", "The grant file (its policy key is used)", undefined, kmsTypes.file)
  .addOptionalParam("policyKey", "The policy key, 33-byte hex, instead of --grant", undefined, kmsTypes.hex)
  .setAction(async (args: { in: string; out: string; force: boolean; grant?: string; policyKey?: string }) => {
    const key =
      exactlyOne(args, ["grant", "policyKey"]) === "grant"
        ? publicKeyOf(readGrant(args.grant!).delegatingKey)
        : parsePublicKey(args.policyKey!, "--policy-key");
    const size = inputSize(args.in);
    await encryptFile(key, args.in, args.out, { onProgress: byteProgress("encrypting", size), overwrite: args.force });
    console.log(`sealed ${size} bytes into ${args.out}`);
  });

kms
  .task("retrieve-decrypt", "Bob retrieves m cfrags from the policy's nodes, verifies them and decrypts a sealed file")
  .addParam("grant", "The grant file", undefined, kmsTypes.file)
  .addParam("bobKey", "Bob's key file", undefined, kmsTypes.file)
  .addParam("in", "Sealed file", undefined, kmsTypes.file)
  .addParam("out", "Plaintext file to write (mode 0600; written whole or not at all)", undefined, kmsTypes.file)
  .addFlag("force", FORCE)
  .addOptionalParam("timeout", "Seconds to wait for each node", 10, kmsTypes.int)
  .addFlag("noReport", "Do not submit evidence against nodes caught cheating")
  .addOptionalParam("from", `Submits slashing evidence and earns the reward. ${FROM}`, undefined, kmsTypes.account)
  .addOptionalParam(
    "account",
    "Bob's Ethereum account, for policies whose conditions are about the requester: it signs a Sign-In with " +
      "Ethereum proof for each node (an address or a configured account's index, #3)",
    undefined,
    kmsTypes.account,
  )
  .setAction(
    async (
      args: {
        grant: string;
        bobKey: string;
        in: string;
        out: string;
        force: boolean;
        timeout: number | string;
        noReport: boolean;
        from?: string;
        account?: string;
      },
      hre,
    ) => {
      // Checked before any node is asked: the key, the input, the output.
      const timeout = parseWhole(args.timeout, "--timeout", 1, 3600);
      const recorded = readGrant(args.grant);
      const bobKey = readSecretKeyFile(args.bobKey);
      checkReceivingKey(recorded, bobKey);
      const size = inputSize(args.in);
      checkOutputPath(args.out, { overwrite: args.force, inputs: [args.in] });

      // Nodes are asked where they are now, not where they were when the grant was made.
      let policy = recorded;
      try {
        const { nodeDirectory } = await loadDeployment(hre);
        const resolved = await resolveGrantNodes(recorded, nodeDirectory);
        policy = resolved.grant;
        for (const note of resolved.notes) console.log(note);
      } catch (error) {
        console.warn(
          `warning: could not look the nodes up on the chain (${(error as Error).message}); using the grant's URLs`,
        );
      }

      const requester = args.account === undefined ? undefined : { signer: await signerFor(hre, args.account) };
      await decryptFile(policy, bobKey, args.in, args.out, {
        requester,
        overwrite: args.force,
        timeoutMs: timeout * 1000,
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
      }).catch((error: unknown) => {
        // A refusal for the policy's conditions: one line per node, in the node's words (never a cheat).
        if (error instanceof NotEnoughCFragsError)
          for (const line of conditionRefusalLines(error.failures)) console.log(line);
        throw error;
      });
      console.log(`decrypted into ${args.out}`);
    },
  );
