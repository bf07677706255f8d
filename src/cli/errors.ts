// How a failed `kms` command speaks to a person: one line saying what went wrong and, where it can, what to do.
// A user's mistake never prints a stack trace, a hex selector or an amount in wei.
import type { Interface } from "ethers";
import { decodeRevert, explainRevert, findRevertData } from "./reverts";

/** A mistake the user can fix (a bad argument, a missing file, a check that failed before sending). */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command-line value that is malformed or conflicts with another. */
export class ArgumentError extends UserError {}

/** A transaction that would fail, found by reading the chain before sending it (no gas spent). */
export class PreflightError extends UserError {}

/** Errors that are the program's fault, not the user's: said so, with a hint to get the stack. */
const BUG_ERRORS = new Set(["TypeError", "ReferenceError", "SyntaxError"]);

/** Whether `error` is a bug in umbral-kms rather than something the user did. */
export function isBug(error: unknown): boolean {
  return error instanceof Error && BUG_ERRORS.has(error.name);
}

interface Coded {
  code?: string;
  shortMessage?: string;
  syscall?: string;
  path?: string;
  dest?: string;
  number?: number;
}

/** What a file-system error means, naming the file. */
function describeFileError(error: Error & Coded): string | undefined {
  const file = error.path;
  if (!file || !error.code || !error.syscall) return undefined;
  switch (error.code) {
    case "ENOENT":
      return `${file}: no such file or directory`;
    case "EISDIR":
      return `${file} is a directory, not a file`;
    case "ENOTDIR":
      return `${file}: a part of the path is not a directory`;
    case "EACCES":
    case "EPERM":
      return `${file}: permission denied`;
    case "EEXIST":
      return `${file} already exists`;
    case "ENOSPC":
      return `no space left on the device holding ${file}`;
    default:
      return `${file}: ${error.message.replace(/^\w+: /, "")}`;
  }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();

/**
 * One line describing `error` for a person. Contract reverts are decoded against `errors` (every compiled
 * contract's custom errors, {@link errorInterfaceOf}) and explained in KMS.
 */
export function describeError(error: unknown, errors?: Interface): string {
  if (!(error instanceof Error)) return oneLine(String(error));
  const coded = error as Error & Coded;
  if (error instanceof UserError) return oneLine(error.message);
  const data = findRevertData(error);
  if (data && errors) {
    const revert = decodeRevert(errors, data);
    if (revert) return `the transaction was refused: ${explainRevert(revert)}`;
    return "the transaction was refused with an error none of the umbral-kms contracts declare";
  }
  const file = describeFileError(coded);
  if (file) return file;
  if (isBug(error)) return `internal error: ${oneLine(error.message)} (KMS_VERBOSE=1 shows the stack)`;
  switch (coded.code) {
    case "INSUFFICIENT_FUNDS":
      return "the sending account has not enough ETH to pay for gas";
    case "CALL_EXCEPTION":
      return `the transaction was refused: ${coded.shortMessage ?? "execution reverted"}`;
    case "BAD_DATA":
      return "a contract answered with no data: is the recorded deployment on this chain? (kms status)";
    case "INVALID_ARGUMENT":
      return `invalid argument: ${coded.shortMessage ?? error.message}`;
    case "NETWORK_ERROR":
    case "ECONNREFUSED":
      return `cannot reach the chain: ${coded.shortMessage ?? error.message}`;
  }
  if (error.name === "HardhatError" || error.name === "ProviderError") {
    return oneLine(error.message.replace(/^HH\d+: /, ""));
  }
  return oneLine(coded.shortMessage ?? error.message);
}
