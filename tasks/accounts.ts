// Which account a task acts as: `--from` takes an address or the index of a configured account
// (`3` or `#3`, as `npx hardhat node` numbers them), defaulting to the first.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { ArgumentError } from "../src/cli/errors";

export { FROM } from "../src/cli/args";

/** Raised for a `--from`/`--operator` that is neither an address nor the index of a configured account. */
export class UnknownAccountError extends ArgumentError {
  constructor(value: string, count: number) {
    super(`"${value}" is neither an address nor an account index from #0 to #${count - 1}`);
    this.name = "UnknownAccountError";
  }
}

/** The signer for `from`: an address, an index (`3` or `#3`), or undefined for the first account. */
export async function signerFor(hre: HardhatRuntimeEnvironment, from?: string) {
  const signers = await hre.ethers.getSigners();
  if (from === undefined) return signers[0];
  const index = /^#?(\d+)$/.exec(from.trim());
  if (index) {
    const signer = signers[Number(index[1])];
    if (!signer) throw new UnknownAccountError(from, signers.length);
    return signer;
  }
  if (!hre.ethers.isAddress(from)) throw new UnknownAccountError(from, signers.length);
  return hre.ethers.getSigner(hre.ethers.getAddress(from));
}

/** An address given as an address or as the index of a configured account. */
export async function addressFor(hre: HardhatRuntimeEnvironment, value: string): Promise<string> {
  const index = /^#?(\d+)$/.exec(value.trim());
  if (index) return (await signerFor(hre, value)).address;
  if (!hre.ethers.isAddress(value)) {
    throw new UnknownAccountError(value, (await hre.ethers.getSigners()).length);
  }
  return hre.ethers.getAddress(value);
}
