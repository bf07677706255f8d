// A grant's life after `kms grant`: send a node its kfrag again, extend the policy, heal a slot whose node left.
// Each works on Alice's journal (<grant>.alice.json) and rewrites the public grant beside it.
import { kms } from "./scope";
import { FROM, addressFor, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { AliceKeys } from "../src/client/keys";
import { extendGrant, healSlot, redeliverFromJournal } from "../src/client/alice";
import { FileJournalStore } from "../src/client/journal-file";
import { parsePeriods } from "../src/staking";
import { kmsTypes } from "../src/cli/args";
import { checkBalance } from "../src/cli/checks";
import { UserError } from "../src/cli/errors";

const JOURNAL = "Alice's grant journal, <grant>.alice.json (kms grant wrote it beside the grant)";

/** The journal and its store; a revoked grant stops here with one line. */
function openJournal(file: string) {
  const opened = FileJournalStore.open(file);
  if (opened.journal.revoked) throw new UserError(`policy ${opened.journal.grant.policyId} was revoked`);
  return opened;
}

kms
  .task("redeliver", "Alice sends a grant's nodes their kfrag again (e.g. a node that lost its disk)")
  .addParam("grant", JOURNAL, undefined, kmsTypes.file)
  .addOptionalParam(
    "node",
    "Only this node (staker address); default every node of the grant",
    undefined,
    kmsTypes.text,
  )
  .addOptionalParam(
    "aliceKey",
    "Alice's key file: needed only for a node that announced a new encrypting key (its share is sealed anew)",
    undefined,
    kmsTypes.file,
  )
  .addOptionalParam("from", `The policy owner. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { grant: string; node?: string; aliceKey?: string; from?: string }, hre) => {
    const { journal, store } = openJournal(args.grant);
    const keys = args.aliceKey ? AliceKeys.fromFile(args.aliceKey) : undefined;
    const stakers = args.node ? [await addressFor(hre, args.node)] : undefined;
    const contracts = await loadDeployment(hre);
    const owner = await signerFor(hre, args.from ?? journal.grant.owner);
    await redeliverFromJournal(contracts, journal, store, {
      owner,
      stakers,
      keys,
      onProgress: (message) => console.log(message),
    });
    console.log(`policy ${journal.grant.policyId}: ${stakers ? stakers[0] : "every node"} holds its kfrag again`);
  });

kms
  .task("extend", "Alice extends a live policy by more periods (same nodes); the added fees are shown, then paid")
  .addParam("grant", JOURNAL, undefined, kmsTypes.file)
  .addParam("periods", "Periods added to the policy's current end", undefined, kmsTypes.periods)
  .addOptionalParam("from", `The policy owner: pays the added fees. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { grant: string; periods: string; from?: string }, hre) => {
    const periods = parsePeriods("added periods", String(args.periods));
    const { journal, store } = openJournal(args.grant);
    const contracts = await loadDeployment(hre);
    const owner = await signerFor(hre, args.from ?? journal.grant.owner);
    const result = await extendGrant(contracts, journal, store, {
      owner,
      periods,
      onProgress: (message) => console.log(message),
      confirmFee: async (fee, endPeriod) => {
        console.log(`extending policy ${journal.grant.policyId} to period ${endPeriod}: fee ${formatKms(fee)} KMS`);
        await checkBalance(contracts.token, await owner.getAddress(), fee, "the extension's fee");
      },
    });
    console.log(
      `policy ${journal.grant.policyId} now ends at period ${result.endPeriod} (was ${result.previousEndPeriod}); ` +
        `paid ${formatKms(result.fee)} KMS; grant written to ${store.publicFile}`,
    );
    return result;
  });

kms
  .task(
    "heal",
    "Alice moves the slot of a node that left to a live replacement and gives it a kfrag of the same policy key",
  )
  .addParam("grant", JOURNAL, undefined, kmsTypes.file)
  .addParam("node", "The staker whose slot is moved", undefined, kmsTypes.text)
  .addParam("aliceKey", "Alice's key file (the replacement share is issued from it)", undefined, kmsTypes.file)
  .addOptionalParam(
    "to",
    "The staker taking the slot; default the next live draw of the grant's sample",
    undefined,
    kmsTypes.text,
  )
  .addOptionalParam("from", `The policy owner. ${FROM}`, undefined, kmsTypes.account)
  .setAction(async (args: { grant: string; node: string; aliceKey: string; to?: string; from?: string }, hre) => {
    const staker = await addressFor(hre, args.node);
    const to = args.to ? await addressFor(hre, args.to) : undefined;
    const keys = AliceKeys.fromFile(args.aliceKey);
    const { journal, store } = openJournal(args.grant);
    const contracts = await loadDeployment(hre);
    const owner = await signerFor(hre, args.from ?? journal.grant.owner);
    const heal = await healSlot(contracts, journal, store, {
      owner,
      keys,
      staker,
      to,
      onProgress: (message) => console.log(message),
    });
    console.log(
      `policy ${journal.grant.policyId}: slot ${heal.index} moved from ${heal.from} to ${heal.to}, which holds ` +
        `its kfrag; grant written to ${store.publicFile} (give Bob the new one)`,
    );
    return heal;
  });
