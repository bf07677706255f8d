// Deploys the umbral-kms contract system. Later modules extend this one.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** 1,000,000,000 KMS in wei. */
export const DEFAULT_TOTAL_SUPPLY = 1_000_000_000n * 10n ** 18n;

// Staking defaults (docs/staking.md explains each figure).
/** Three quarters of the default supply go to the mining reserve, as NuCypher kept about 3/4 for mining. */
export const DEFAULT_MINING_RESERVE = (DEFAULT_TOTAL_SUPPLY * 3n) / 4n;
/** One period is one day. */
export const DEFAULT_PERIOD_DURATION = 86_400n;
/** Smallest lock: 15,000 KMS (NuCypher's minimum). */
export const DEFAULT_MIN_STAKE = 15_000n * 10n ** 18n;
/** Largest lock: 10,000,000 KMS, 1% of the supply. */
export const DEFAULT_MAX_STAKE = 10_000_000n * 10n ** 18n;
/** A new or grown lock lasts at least 30 periods. */
export const DEFAULT_MIN_LOCK_PERIODS = 30n;
/** At least 7 periods between two operator changes. */
export const DEFAULT_MIN_OPERATOR_PERIODS = 7n;
/** 1 − 2^(−1/730) over 10^18: the unallocated reserve halves every 730 periods (two years of days). */
export const DEFAULT_ISSUANCE_RATE = 949_066_037_374_331n;

// Policy defaults: fee rates per node per period, multiples of the PolicyManager's FEE_UNIT (1 gwei of KMS).
/** Smallest fee rate: 0.001 KMS per node per period. */
export const DEFAULT_MIN_FEE_RATE = 10n ** 15n;
/** Largest fee rate: 1,000 KMS per node per period. */
export const DEFAULT_MAX_FEE_RATE = 1_000n * 10n ** 18n;

// Slashing defaults: penalty = min(base + history × offences, stake / percentage); the reporter gets
// penalty / reward coefficient, the rest returns to the mining reserve (docs/slashing.md).
export const DEFAULT_BASE_PENALTY = 100n * 10n ** 18n;
export const DEFAULT_PENALTY_HISTORY_COEFFICIENT = 50n * 10n ** 18n;
export const DEFAULT_PERCENTAGE_PENALTY_COEFFICIENT = 10n;
export const DEFAULT_REWARD_COEFFICIENT = 4n;

const KMSModule = buildModule("KMS", (m) => {
  const deployer = m.getAccount(0);
  const totalSupply = m.getParameter("totalSupply", DEFAULT_TOTAL_SUPPLY);
  const holder = m.getParameter("holder", deployer);

  const token = m.contract("KMSToken", [holder, totalSupply]);

  // Staking: the escrow, then the mining reserve moved into it by the deployer (so `holder` must be the
  // deployer, the default, unless `miningReserve` is moved by hand).
  const escrow = m.contract("StakingEscrow", [
    token,
    m.getParameter("periodDuration", DEFAULT_PERIOD_DURATION),
    m.getParameter("minStake", DEFAULT_MIN_STAKE),
    m.getParameter("maxStake", DEFAULT_MAX_STAKE),
    m.getParameter("minLockPeriods", DEFAULT_MIN_LOCK_PERIODS),
    m.getParameter("minOperatorPeriods", DEFAULT_MIN_OPERATOR_PERIODS),
    m.getParameter("issuanceRate", DEFAULT_ISSUANCE_RATE),
    deployer,
  ]);
  const miningReserve = m.getParameter("miningReserve", DEFAULT_MINING_RESERVE);
  const reserveApproval = m.call(token, "approve", [escrow, miningReserve], { id: "approveMiningReserve" });
  m.call(escrow, "fundReserve", [miningReserve], { id: "fundMiningReserve", after: [reserveApproval] });

  // Discovery: operators announce their node's URL and Umbral key here.
  const nodeDirectory = m.contract("NodeDirectory", [escrow]);

  // Policies: the manager takes fees and learns of commitments from the escrow.
  const policyManager = m.contract("PolicyManager", [
    escrow,
    deployer,
    m.getParameter("minFeeRate", DEFAULT_MIN_FEE_RATE),
    m.getParameter("maxFeeRate", DEFAULT_MAX_FEE_RATE),
  ]);
  m.call(escrow, "setPolicyManager", [policyManager]);

  // Slashing: the adjudicator judges signed cfrags and slashes through the escrow.
  const adjudicator = m.contract("Adjudicator", [
    escrow,
    m.getParameter("basePenalty", DEFAULT_BASE_PENALTY),
    m.getParameter("penaltyHistoryCoefficient", DEFAULT_PENALTY_HISTORY_COEFFICIENT),
    m.getParameter("percentagePenaltyCoefficient", DEFAULT_PERCENTAGE_PENALTY_COEFFICIENT),
    m.getParameter("rewardCoefficient", DEFAULT_REWARD_COEFFICIENT),
  ]);
  m.call(escrow, "setAdjudicator", [adjudicator]);

  return { token, escrow, nodeDirectory, policyManager, adjudicator };
});

export default KMSModule;
