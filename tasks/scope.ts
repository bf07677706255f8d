// The `kms` task scope shared by every task file, and how task failures reach people.
//
// Every `kms` task's action is wrapped so that an expected failure — bad input, a contract revert, a node
// refusing — prints one clear line (Hardhat's plugin-error format) instead of "An unexpected error
// occurred" and a stack trace. Programming errors (TypeError and the like) still show their stack.
import { scope } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";
import type { ActionType, TaskArguments } from "hardhat/types";

export const kms = scope("kms", "umbral-kms: staking, policies, nodes and clients");

/** Errors that are the program's own fault, not the user's: keep their stack traces. */
const BUG_ERRORS = new Set(["TypeError", "ReferenceError", "SyntaxError"]);

interface EthersRevert {
  code?: string;
  shortMessage?: string;
  revert?: { name: string; args: unknown[] } | null;
}

/** One line saying what went wrong, decoding contract custom errors by name. */
export function describeFailure(error: Error): string {
  const ethersError = error as Error & EthersRevert;
  if (ethersError.code === "INVALID_ARGUMENT" && ethersError.shortMessage) {
    return `invalid argument: ${ethersError.shortMessage}`;
  }
  if (ethersError.code === "CALL_EXCEPTION") {
    if (ethersError.revert) {
      const args = ethersError.revert.args.map((a) => String(a)).join(", ");
      return `the contract reverted with ${ethersError.revert.name}(${args})`;
    }
    return `the contract reverted: ${ethersError.shortMessage ?? error.message}`;
  }
  return error.message;
}

function isUserFacing(error: unknown): error is Error {
  if (!(error instanceof Error) || error instanceof HardhatPluginError) return false;
  const code = (error as EthersRevert).code;
  if (code === "CALL_EXCEPTION" || code === "INVALID_ARGUMENT") return true;
  return !BUG_ERRORS.has(error.name) && error.name !== "Error";
}

const defineTask = kms.task.bind(kms);
kms.task = ((name: string, description?: string) => {
  const definition = defineTask(name, description);
  const setAction = definition.setAction.bind(definition);
  definition.setAction = <T extends TaskArguments>(action: ActionType<T>) =>
    setAction(async (args: T, hre, runSuper) => {
      try {
        return await action(args, hre, runSuper);
      } catch (error) {
        if (isUserFacing(error)) throw new HardhatPluginError("umbral-kms", describeFailure(error), error);
        throw error;
      }
    });
  return definition;
}) as typeof kms.task;
