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

  return { token, escrow, nodeDirectory };
});

export default KMSModule;
