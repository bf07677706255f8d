// EIP-712 revocation signatures: the policy owner signs, anyone relays `revokePolicyWithSig`.
import type { Signer, TypedDataDomain, TypedDataField } from "ethers";

/** The EIP-712 domain name and version of the PolicyManager. */
export const POLICY_MANAGER_DOMAIN = { name: "KMS PolicyManager", version: "1" } as const;

/** The `Revoke` type, as the contract's REVOKE_TYPEHASH. */
export const REVOKE_TYPES: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "policyId", type: "bytes16" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** The message an owner signs to let anyone revoke `policyId` until `deadline` (a unix time). */
export interface RevokeMessage {
  policyId: string;
  nonce: bigint;
  deadline: bigint;
}

/** The domain of the PolicyManager at `verifyingContract` on `chainId`. */
export function policyManagerDomain(chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { ...POLICY_MANAGER_DOMAIN, chainId, verifyingContract };
}

/** Signs a revocation; `nonce` must be the owner's current `nonces(owner)` on the contract. */
export async function signRevoke(
  owner: Signer,
  chainId: bigint,
  policyManager: string,
  message: RevokeMessage,
): Promise<string> {
  return owner.signTypedData(policyManagerDomain(chainId, policyManager), REVOKE_TYPES, { ...message });
}
