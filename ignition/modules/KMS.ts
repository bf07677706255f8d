// Deploys the umbral-kms contract system. Later modules extend this one.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** 1,000,000,000 KMS in wei. */
export const DEFAULT_TOTAL_SUPPLY = 1_000_000_000n * 10n ** 18n;

const KMSModule = buildModule("KMS", (m) => {
  const deployer = m.getAccount(0);
  const totalSupply = m.getParameter("totalSupply", DEFAULT_TOTAL_SUPPLY);
  const holder = m.getParameter("holder", deployer);

  const token = m.contract("KMSToken", [holder, totalSupply]);

  return { token };
});

export default KMSModule;
