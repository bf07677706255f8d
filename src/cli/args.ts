// Command-line values for the `kms` tasks: Hardhat argument types that name what a value is in `--help`
// (KMS, PERIODS, ACCOUNT, FILE, INT instead of STRING) and leave every check to the parsers below, which
// raise an ArgumentError a person understands. Hardhat's own parsers throw errors that print a stack trace
// on headless machines, so these types accept any text and the task's action parses it.
import type { CLIArgumentType } from "hardhat/types";
import { parseKms } from "../units";
import { ArgumentError } from "./errors";

/** A type shown as `<NAME>` in `--help` that passes the text through unchanged. */
function named(name: string): CLIArgumentType<string> {
  return {
    name,
    parse: (_argName, value) => value,
    validate: (argName, value) => {
      // Values given through hre.run (tests, scripts) may be numbers; anything else is a programming error.
      if (!["string", "number", "bigint"].includes(typeof value)) {
        throw new ArgumentError(`--${argName}: expected text, got ${typeof value}`);
      }
    },
  };
}

/** The argument types of the `kms` tasks. */
export const kmsTypes = {
  /** An amount of KMS in decimal: 20000, 0.5. */
  kms: named("kms"),
  /** A whole number of periods. */
  periods: named("periods"),
  /** An address or the index of a configured account (#3). */
  account: named("account"),
  /** A path. */
  file: named("file"),
  /** A whole number. */
  int: named("int"),
  /** Hex bytes (keys, ids). */
  hex: named("hex"),
  /** Free text. */
  text: named("text"),
};

/** The `--from` help shared by every task that sends a transaction. */
export const FROM = "Account that sends it: an address or a configured account's index (#3); default #0";

/** Converts a camelCase parameter name to its command-line form: feeRate → --fee-rate. */
export function flag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Parses a positive amount of KMS ("20000", "0.5") into wei; `allowZero` accepts 0. The error names the
 * option and shows the expected form, never ethers' wording.
 */
export function parseAmount(value: string | number, option: string, allowZero = false): bigint {
  const text = String(value).trim();
  if (!/^\d+(\.\d+)?$/.test(text) && !/^-\d/.test(text)) {
    throw new ArgumentError(`${option} "${text}" is not an amount of KMS (write it like 20000 or 0.5)`);
  }
  if (text.startsWith("-")) throw new ArgumentError(`${option} must not be negative (got ${text})`);
  const [, decimals = ""] = text.split(".");
  if (decimals.length > 18) throw new ArgumentError(`${option} has more than 18 decimals (got ${text})`);
  const wei = parseKms(text);
  if (wei === 0n && !allowZero) throw new ArgumentError(`${option} must be more than 0 KMS`);
  return wei;
}

/** Parses a whole number within [min, max] for `option`. */
export function parseWhole(value: string | number, option: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text)) throw new ArgumentError(`${option} "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) {
    throw new ArgumentError(
      `${option} must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`}, got ${n}`,
    );
  }
  return n;
}

/** Checks that exactly one of the named options is given; returns which. */
export function exactlyOne<T extends Record<string, unknown>>(args: T, names: (keyof T & string)[]): keyof T & string {
  const given = names.filter((name) => args[name] !== undefined && args[name] !== "");
  if (given.length !== 1) {
    throw new ArgumentError(`give exactly one of ${names.map(flag).join(" and ")}`);
  }
  return given[0];
}
