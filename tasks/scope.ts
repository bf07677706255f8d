// The `kms` task scope shared by every task file, and how task failures reach people.
//
// Every `kms` task's action is wrapped:
// - Run from the command line (`npx hardhat kms <task>`), a failure prints one line, `error: …`, and the
//   command exits 1. Hardhat prints a stack trace after any error a task throws on a machine it takes for CI
//   (a headless Linux server included), so the error is printed here and never reaches Hardhat. `--verbose`,
//   `--show-stack-traces` or KMS_VERBOSE=1 add the stack.
// - Run through hre.run (tests, scripts, one task from another), a failure is thrown as a HardhatPluginError
//   with the same one-line message and the original error as its parent.
// - Reverts are decoded against every compiled contract's errors and said in KMS (src/cli/errors.ts).
// - Required parameters are checked here, not by Hardhat (whose error would print a stack trace): they are
//   declared optional to Hardhat, and `--help` marks them "(required)".
// - A task that changes the chain refuses to run from the command line on the in-process `hardhat` network,
//   whose state vanishes when the command exits (KMS_EPHEMERAL=1 runs it anyway).
import { scope } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";
import type { ActionType, CLIArgumentType, HardhatRuntimeEnvironment, TaskArguments } from "hardhat/types";
import type { Interface } from "ethers";
import { ArgumentError, UserError, describeError } from "../src/cli/errors";
import { errorInterfaceOf, findRevertData } from "../src/cli/reverts";
import { flag } from "../src/cli/args";

export const kms = scope("kms", "umbral-kms: staking, policies, nodes and clients");

/** Tasks that never touch a chain. */
const OFFLINE_TASKS = new Set(["keygen", "encrypt", "pubkey", "stream-publish", "stream-serve", "chat-relay"]);
/** Tasks that only read the chain (they run on the in-process network, with a note that it is not yours). */
const READ_ONLY_TASKS = new Set(["status", "nodes", "policies", "policy", "staker", "balance", "accounts", "play"]);
/** Tasks left to their owners' judgement about the in-process network. */
const UNGUARDED_TASKS = new Set(["node", "node-doctor"]);

/** Raised when a state-changing task is run from the command line against the throw-away in-process chain. */
export class EphemeralNetworkError extends UserError {
  constructor(task: string) {
    super(
      `kms ${task} would run on Hardhat's in-process chain, which vanishes when the command exits: nothing would be ` +
        `kept. Name your chain: --network localhost (or export HARDHAT_NETWORK=localhost); KMS_EPHEMERAL=1 runs it anyway`,
    );
  }
}

/** Whether the command line names exactly this task (`hardhat [options] kms <task> …`). */
function isCommandLineTask(task: string): boolean {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("kms");
  return at >= 0 && argv[at + 1] === task;
}

function wantsStack(hre: HardhatRuntimeEnvironment): boolean {
  return process.env.KMS_VERBOSE === "1" || hre.hardhatArguments.verbose || hre.hardhatArguments.showStackTraces;
}

let errorInterface: Promise<Interface> | undefined;

/** One line for `error`, with reverts decoded against every compiled contract's errors. */
export async function explainFailure(hre: HardhatRuntimeEnvironment, error: unknown): Promise<string> {
  let errors: Interface | undefined;
  if (findRevertData(error)) {
    errorInterface ??= errorInterfaceOf(hre.artifacts);
    errors = await errorInterface.catch(() => undefined);
  }
  return describeError(error, errors);
}

/** Checks what Hardhat was told not to check: required parameters, and the network for chain-changing tasks. */
function checkInvocation(task: string, args: TaskArguments, required: Set<string>, hre: HardhatRuntimeEnvironment) {
  for (const name of required) {
    if (args[name] === undefined) throw new ArgumentError(`missing ${flag(name)} (npx hardhat kms ${task} --help)`);
  }
  if (!isCommandLineTask(task) || hre.network.name !== "hardhat" || OFFLINE_TASKS.has(task)) return;
  if (READ_ONLY_TASKS.has(task)) {
    console.error("note: this is Hardhat's in-process chain, deployed afresh; --network localhost reads yours");
  } else if (!UNGUARDED_TASKS.has(task) && process.env.KMS_EPHEMERAL !== "1") {
    throw new EphemeralNetworkError(task);
  }
}

/** How many `kms` tasks are running inside one another (a task may run another through hre.run). */
let depth = 0;

const defineTask = kms.task.bind(kms);
kms.task = ((name: string, description?: string) => {
  const definition = defineTask(name, description);
  const required = new Set<string>();

  // Required parameters become optional to Hardhat and are checked by checkInvocation. (Hardhat's own
  // addOptionalParam calls addParam with isOptional = true, and recursion with type undefined keeps it.)
  for (const method of ["addParam", "addPositionalParam"] as const) {
    const original = definition[method].bind(definition) as <T>(
      param: string,
      about?: string,
      defaultValue?: T,
      type?: CLIArgumentType<T>,
      isOptional?: boolean,
    ) => typeof definition;
    definition[method] = (<T>(
      param: string,
      about?: string,
      defaultValue?: T,
      type?: CLIArgumentType<T>,
      isOptional = defaultValue !== undefined,
    ) => {
      if (isOptional) return original(param, about, defaultValue, type, true);
      required.add(param);
      return original(param, `${about ?? ""} (required)`.trim(), defaultValue, type, true);
    }) as typeof definition.addParam;
  }

  const setAction = definition.setAction.bind(definition);
  definition.setAction = <T extends TaskArguments>(action: ActionType<T>) =>
    setAction(async (args: T, hre, runSuper) => {
      const fromCommandLine = isCommandLineTask(name) && depth === 0;
      depth++;
      try {
        checkInvocation(name, args, required, hre);
        return await action(args, hre, runSuper);
      } catch (error) {
        const line = await explainFailure(hre, error);
        if (!fromCommandLine) throw new HardhatPluginError("umbral-kms", line, error as Error);
        console.error(`error: ${line}`);
        if (wantsStack(hre)) console.error(error);
        process.exitCode = 1;
        return undefined;
      } finally {
        depth--;
      }
    });
  return definition;
}) as typeof kms.task;
