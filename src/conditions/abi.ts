// The ABI types a condition may pass to a call or test a return value against, and the conversion of lingo
// values (JSON literals) to those types: one place, used when a set is validated and when it is evaluated.
import { getAddress, isHexString } from "ethers";
import type { Comparator } from "./lingo";

/** Basic Solidity ABI types in their canonical JSON spelling (`uint256`, not `uint`). */
const SIZES = Array.from({ length: 32 }, (_v, i) => 8 * (i + 1)).join("|");
const BASIC_TYPE = new RegExp(`^(u?int(${SIZES})|address|bool|bytes([1-9]|[12][0-9]|3[0-2])?|string)$`);

/** True for a type a condition can use as an input or a tested output. */
export function isBasicType(type: string): boolean {
  return BASIC_TYPE.test(type);
}

/** True for `uintN`/`intN`: the only types ordered comparisons (`>`, `<=`, …) apply to. */
export function isNumericType(type: string): boolean {
  return /^u?int\d+$/.test(type);
}

/** The comparators a type admits: all six for numbers, equality for the rest. */
export function comparatorsFor(type: string): readonly Comparator[] {
  return isNumericType(type) ? ["==", "!=", ">", ">=", "<", "<="] : ["==", "!="];
}

/** A value of a basic ABI type in one comparable form: integers as bigint, addresses and bytes lower-case hex. */
export type AbiValue = bigint | boolean | string;

/**
 * Converts a lingo literal to `type`, or returns a sentence saying why it does not fit. Integers may be JSON
 * numbers (safe integers only) or decimal strings; addresses must have a valid EIP-55 checksum if mixed-case.
 */
export function toAbiValue(type: string, value: unknown): { value: AbiValue } | { error: string } {
  if (isNumericType(type)) {
    let n: bigint;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value))
        return { error: `${value} is not a whole number within ±2^53; write it as a decimal string` };
      n = BigInt(value);
    } else if (typeof value === "string" && /^-?(0|[1-9][0-9]{0,77})$/.test(value)) {
      n = BigInt(value);
    } else return { error: `${JSON.stringify(value)} is not an integer (a number or a decimal string)` };
    const bits = BigInt(type.replace(/^u?int/, ""));
    const [min, max] = type.startsWith("u")
      ? [0n, (1n << bits) - 1n]
      : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
    if (n < min || n > max) return { error: `${n} is out of range for ${type}` };
    return { value: n };
  }
  switch (type) {
    case "bool":
      return typeof value === "boolean" ? { value } : { error: `${JSON.stringify(value)} is not true or false` };
    case "address":
      if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value))
        return { error: `${JSON.stringify(value)} is not a 20-byte 0x-hex address` };
      try {
        return { value: getAddress(value).toLowerCase() };
      } catch {
        return { error: `${value} has a bad EIP-55 checksum (write it all lower-case or correctly checksummed)` };
      }
    case "string":
      return typeof value === "string" ? { value } : { error: `${JSON.stringify(value)} is not a string` };
    case "bytes":
      return typeof value === "string" && isHexString(value) && value.length % 2 === 0
        ? { value: value.toLowerCase() }
        : { error: `${JSON.stringify(value)} is not 0x-hex bytes` };
  }
  const size = Number(type.slice("bytes".length));
  return typeof value === "string" && isHexString(value, size)
    ? { value: value.toLowerCase() }
    : { error: `${JSON.stringify(value)} is not ${size} bytes of 0x-hex` };
}

/** Puts a decoded return value (ethers: bigint, boolean, string) in the comparable form of toAbiValue. */
export function fromDecoded(type: string, decoded: unknown): AbiValue {
  if (isNumericType(type) || type === "bool" || type === "string") return decoded as AbiValue;
  return (decoded as string).toLowerCase();
}

/** `actual comparator expected`, for two values of the same type (ordering only for integers). */
export function compare(actual: AbiValue, comparator: Comparator, expected: AbiValue): boolean {
  switch (comparator) {
    case "==":
      return actual === expected;
    case "!=":
      return actual !== expected;
    case ">":
      return actual > expected;
    case ">=":
      return actual >= expected;
    case "<":
      return actual < expected;
    case "<=":
      return actual <= expected;
  }
}
