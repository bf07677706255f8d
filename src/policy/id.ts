// Policy ids: 16 bytes, chosen by the client, unique per PolicyManager.
import { randomBytes } from "@noble/hashes/utils";
import { hexlify, isHexString } from "ethers";
import { InvalidPolicyIdError } from "./errors";

/** Length of a policy id in bytes (the contract's `bytes16`). */
export const POLICY_ID_BYTES = 16;

/** A fresh random policy id as 0x-hex (128 random bits make a collision negligible). */
export function randomPolicyId(): string {
  return hexlify(randomBytes(POLICY_ID_BYTES));
}

/** Validates a policy id given as 0x-hex and returns it lower-cased. */
export function parsePolicyId(value: string): string {
  if (!isHexString(value, POLICY_ID_BYTES)) throw new InvalidPolicyIdError(value);
  return value.toLowerCase();
}
