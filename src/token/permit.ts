// EIP-2612 permits for the KMS token: one signature instead of an approve transaction, for deposits and
// policies. Tests, benchmarks and clients all sign them here.
import { Signature, type TypedDataDomain, type TypedDataField } from "ethers";
import type { KMSToken } from "../../typechain-types";

/** The EIP-712 type of an EIP-2612 permit. */
export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** What to permit. `nonce` defaults to the owner's current one; `owner` to the signer (override to test forgery). */
export interface PermitRequest {
  spender: string;
  value: bigint;
  deadline: bigint;
  nonce?: bigint;
  owner?: string;
}

/** Anything that signs EIP-712 data with an address: an ethers Wallet or a Hardhat signer. */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The token's EIP-712 domain (name "KMS Token", version "1"). */
export async function permitDomain(token: KMSToken): Promise<TypedDataDomain> {
  const { chainId } = await token.runner!.provider!.getNetwork();
  return { name: "KMS Token", version: "1", chainId, verifyingContract: await token.getAddress() };
}

/** Signs a permit with `signer`; returns the split signature (`v`, `r`, `s`). */
export async function signPermit(token: KMSToken, signer: TypedDataSigner, request: PermitRequest): Promise<Signature> {
  const owner = request.owner ?? (await signer.getAddress());
  const message = {
    owner,
    spender: request.spender,
    value: request.value,
    nonce: request.nonce ?? (await token.nonces(owner)),
    deadline: request.deadline,
  };
  return Signature.from(await signer.signTypedData(await permitDomain(token), PERMIT_TYPES, message));
}
