// Parsing of people's inputs for policies (CLI arguments): fee rates in KMS, period counts, node lists.
import { getAddress, isAddress, parseUnits } from "ethers";
import { InvalidFeeRateError, InvalidNodeListError, InvalidPeriodsError } from "./errors";

/** The contract's FEE_UNIT: fee rates are whole multiples of 10^9 wei (10^-9 KMS). */
export const FEE_UNIT = 10n ** 9n;

/**
 * Parses a fee rate per node and period given in KMS ("0.001") into wei, a multiple of FEE_UNIT; positive
 * unless `allowZero` (a node's minimum may be 0).
 */
export function parseFeeRate(text: string, allowZero = false): bigint {
  let wei: bigint;
  try {
    wei = parseUnits(text, 18);
  } catch {
    throw new InvalidFeeRateError(text, "not a decimal KMS amount");
  }
  if (wei < 0n || (wei === 0n && !allowZero)) throw new InvalidFeeRateError(text, "must be positive");
  if (wei % FEE_UNIT !== 0n) throw new InvalidFeeRateError(text, "at most 9 decimals (the fee unit is 10^-9 KMS)");
  return wei;
}

/** Parses a positive whole number of periods. */
export function parsePolicyPeriods(text: string): bigint {
  if (!/^[0-9]+$/.test(text.trim()) || BigInt(text.trim()) === 0n) throw new InvalidPeriodsError(text);
  return BigInt(text.trim());
}

/** Parses a comma-separated list of node (staker) addresses. */
export function parseNodeList(text: string): string[] {
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length === 0) throw new InvalidNodeListError("it is empty");
  for (const part of parts)
    if (!isAddress(part)) throw new InvalidNodeListError(`${JSON.stringify(part)} is not an address`);
  return parts.map((part) => getAddress(part));
}
