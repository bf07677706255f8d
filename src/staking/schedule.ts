// The mining schedule: each period issues a fixed share of the reserve not yet allocated, so the issuance
// decays exponentially. These helpers derive the per-period rate from a half-life and project the schedule.

/** Denominator of the escrow's `issuanceRate` (10^18). */
export const ISSUANCE_RATE_DENOMINATOR = 10n ** 18n;

/**
 * The per-period rate, over 10^18, under which the unallocated reserve halves every `halfLifePeriods`
 * periods: `1 − 2^(−1/H)`. `expm1` keeps full double precision for small rates (about 16 significant
 * digits, so the result is within 1 unit of 10^-18 for any realistic half-life).
 */
export function issuanceRateForHalfLife(halfLifePeriods: number): bigint {
  if (!Number.isFinite(halfLifePeriods) || halfLifePeriods < 1) {
    throw new RangeError(`half-life must be at least 1 period, got ${halfLifePeriods}`);
  }
  // Rounded down, in favour of the reserve (the half-life comes out a hair longer, never shorter).
  return BigInt(Math.floor(-Math.expm1(-Math.LN2 / halfLifePeriods) * 1e18));
}

/** The issuance of one period allocated from `unallocated` at `rate`, rounded down as the escrow does. */
export function periodIssuance(unallocated: bigint, rate: bigint): bigint {
  return (unallocated * rate) / ISSUANCE_RATE_DENOMINATOR;
}

/** Issuance of `periods` consecutive periods in which someone committed, starting from `unallocated`. */
export function projectIssuance(unallocated: bigint, rate: bigint, periods: number): bigint[] {
  const out: bigint[] = [];
  let left = unallocated;
  for (let i = 0; i < periods; i++) {
    const issuance = periodIssuance(left, rate);
    out.push(issuance);
    left -= issuance;
  }
  return out;
}
