// Token amounts are integer wei (bigint) everywhere; these helpers only convert for people.
import { formatUnits, parseUnits } from "ethers";

/** Decimals of the KMS token. */
export const KMS_DECIMALS = 18;

/** Formats an amount in wei as KMS with all significant decimals, e.g. `1234.5`. */
export function formatKms(wei: bigint): string {
  return formatUnits(wei, KMS_DECIMALS);
}

/** Parses a decimal KMS amount ("12.5") into wei; throws on more than 18 decimals or a malformed number. */
export function parseKms(amount: string): bigint {
  return parseUnits(amount, KMS_DECIMALS);
}
