// Access-condition tasks (docs/conditions.md): show a grant's conditions and judge them now as a node would,
// and replace them with a newer signed version (committed on-chain, sent to every node). `kms grant
// --conditions` and `kms retrieve-decrypt --account` are in tasks/network.ts.
import { readFileSync, statSync } from "node:fs";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { parseGrant, GRANT_JOURNAL_KIND, type PolicyGrant } from "../src/client/grant";
import { FileJournalStore } from "../src/client/journal-file";
import { replaceConditions } from "../src/client/alice";
import { formatInspection, inspectConditions } from "../src/client/conditions";
import {
  describeCondition,
  MAX_CONDITIONS_BYTES,
  parseConditions,
  ProviderReader,
  type ConditionExpression,
} from "../src/conditions";
import { kmsTypes } from "../src/cli/args";
import { toJson } from "../src/cli/print";
import { ArgumentError, UserError } from "../src/cli/errors";

/**
 * Reads a condition-set file and validates it for `chainId`: a file too large, not JSON or not valid lingo is one
 * line naming the file and the field. Returns the parsed set and its text.
 */
export function readConditionsFile(file: string, chainId: bigint): ConditionExpression {
  const size = statSync(file).size;
  if (size > MAX_CONDITIONS_BYTES)
    throw new UserError(`${file} is ${size} bytes; a condition set is at most ${MAX_CONDITIONS_BYTES}`);
  try {
    return parseConditions(readFileSync(file, "utf8"), { chainId });
  } catch (e) {
    throw new UserError(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** One line per condition of a set, as `kms grant --conditions` shows it before paying. */
export function describeConditions(expression: ConditionExpression): string {
  return describeCondition(expression.condition);
}

/** The public grant in `file`, or the one inside Alice's journal. */
function grantOf(file: string): PolicyGrant {
  const text = readFileSync(file, "utf8");
  const raw = JSON.parse(text) as { kind?: unknown; grant?: unknown };
  return raw?.kind === GRANT_JOURNAL_KIND ? parseGrant(JSON.stringify(raw.grant)) : parseGrant(text);
}

async function replace(
  hre: HardhatRuntimeEnvironment,
  args: { grant: string; set?: string; lift: boolean; from?: string },
): Promise<void> {
  const { journal, store } = FileJournalStore.open(args.grant);
  const contracts = await loadDeployment(hre);
  const owner = await signerFor(hre, args.from ?? journal.grant.owner);
  const { chainId } = await hre.ethers.provider.getNetwork();
  const conditions = args.lift ? null : readConditionsFile(args.set!, chainId);
  if (conditions) console.log(`new conditions: ${describeConditions(conditions)}`);
  const set = await replaceConditions(contracts, journal, store, {
    owner,
    conditions,
    onProgress: (message) => console.log(message),
  });
  console.log(
    `policy ${journal.grant.policyId}: conditions version ${set.version} committed and sent to every node ` +
      `holding its kfrag; ${store.publicFile} rewritten`,
  );
}

kms
  .task(
    "conditions",
    "Shows a grant's access conditions and judges them now as a node would (or replaces them: --set / --lift)",
  )
  .addParam("grant", "The grant file (or Alice's journal, <grant>.alice.json, to replace)", undefined, kmsTypes.file)
  .addOptionalParam(
    "as",
    "The requester address :userAddress stands for (a node learns it from Bob's proof)",
    undefined,
    kmsTypes.account,
  )
  .addOptionalParam(
    "set",
    "Alice: replace the conditions with this file's set (a higher version)",
    undefined,
    kmsTypes.file,
  )
  .addFlag("lift", "Alice: replace the conditions with none (a higher version lifting them)")
  .addOptionalParam("from", `The policy owner, for --set/--lift. ${FROM}`, undefined, kmsTypes.account)
  .addFlag("json", "Print JSON")
  .setAction(
    async (args: { grant: string; as?: string; set?: string; lift: boolean; from?: string; json: boolean }, hre) => {
      if (args.set !== undefined && args.lift) throw new ArgumentError("give --set <file> or --lift, not both");
      if (args.set !== undefined || args.lift) {
        if (args.as !== undefined) throw new ArgumentError("--as is for showing conditions, not with --set/--lift");
        return replace(hre, args);
      }
      const grant = grantOf(args.grant);
      const { policyManager } = await loadDeployment(hre);
      const { chainId } = await hre.ethers.provider.getNetwork();
      const requester = args.as === undefined ? undefined : await addressFor(hre, args.as);
      const inspection = await inspectConditions(
        policyManager,
        grant,
        new ProviderReader(hre.ethers.provider, chainId),
        requester,
      );
      console.log(args.json ? toJson(inspection) : formatInspection(inspection).join("\n"));
      return inspection;
    },
  );
