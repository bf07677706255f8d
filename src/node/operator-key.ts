// The operator's secret key when Hardhat's network configuration holds it: the node's workers then sign the
// cfrag attestations with it (src/node/attestation.ts) instead of going through the network's signer.
import { computeAddress, HDNodeWallet, Mnemonic } from "ethers";

/** Hardhat's resolved `accounts` of a network: remote, a list of keys, or an HD mnemonic. */
export type ConfiguredAccounts =
  | "remote"
  | readonly (string | { privateKey: string })[]
  | { mnemonic: string; passphrase: string; path: string; initialIndex: number; count: number };

/**
 * The secret key (0x-hex) of `address` among `accounts` (a list of keys, as the `remote` network's
 * KMS_DEPLOYER_KEY, or an HD mnemonic, as the in-process network's), or undefined: remote accounts (the RPC
 * signs) or an address the configuration does not hold.
 */
export function configuredKeyOf(accounts: ConfiguredAccounts, address: string): string | undefined {
  const wanted = address.toLowerCase();
  if (accounts === "remote") return undefined;
  if (Array.isArray(accounts)) {
    for (const account of accounts as readonly (string | { privateKey: string })[]) {
      const key = typeof account === "string" ? account : account.privateKey;
      if (computeAddress(key).toLowerCase() === wanted) return key;
    }
    return undefined;
  }
  const hd = accounts as Exclude<ConfiguredAccounts, "remote" | readonly unknown[]>;
  const root = HDNodeWallet.fromSeed(Mnemonic.fromPhrase(hd.mnemonic, hd.passphrase).computeSeed());
  for (let i = hd.initialIndex; i < hd.initialIndex + hd.count; i++) {
    const wallet = root.derivePath(`${hd.path}/${i}`);
    if (wallet.address.toLowerCase() === wanted) return wallet.privateKey;
  }
  return undefined;
}
