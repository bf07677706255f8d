// What the node server tests share: a node identity with a random operator key and made-up addresses.
import { Wallet } from "ethers";
import type { NodeIdentity } from "../../src/node/server";
import { SecretKey } from "../../src/umbral";

export const TEST_STAKER = "0x" + "11".repeat(20);

/** A node identity for `buildNodeServer`: staker TEST_STAKER, the operator `operator` (default a random key). */
export function testIdentity(operator: Wallet | ReturnType<typeof Wallet.createRandom> = Wallet.createRandom()) {
  return {
    staker: TEST_STAKER,
    operator: operator.address,
    chainId: 31337n,
    policyManager: "0x" + "22".repeat(20),
    encryptingKey: SecretKey.random(),
    operatorSigner: operator,
    attestation: { chainId: 31337n, adjudicator: "0x" + "33".repeat(20) },
  } satisfies NodeIdentity;
}
