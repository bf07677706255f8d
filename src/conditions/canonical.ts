// The canonical byte encoding of a condition set and its hash: what the policy owner signs and the
// PolicyManager will commit to. The encoding is RFC 8785 (JSON Canonicalization Scheme): object keys sorted by
// UTF-16 code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify writes them (which is
// what RFC 8785 specifies), UTF-8. Any two parties that parse the same set produce the same bytes, however the
// file was formatted.
import { ZeroHash, keccak256 } from "ethers";
import type { ConditionExpression } from "./lingo";

/** RFC 8785 canonical JSON text of a JSON value (no undefined, functions, NaN or Infinity inside). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot canonicalize the number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    // The default sort compares UTF-16 code units, as RFC 8785 section 3.2.3 requires.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`cannot canonicalize a ${typeof value}`);
}

/** The canonical UTF-8 bytes of a condition set. */
export function canonicalBytes(expression: ConditionExpression): Uint8Array {
  return new TextEncoder().encode(canonicalJson(expression));
}

/** keccak256 of the canonical bytes; a policy without conditions (null) has the zero hash. */
export function conditionsHash(expression: ConditionExpression | null): string {
  return expression === null ? ZeroHash : keccak256(canonicalBytes(expression));
}
