// Gas of the KMS token's user operations.
import type { GasSection } from "./types";
import { gasOf } from "./types";

export const tokenGas: GasSection = {
  title: "KMSToken",
  async measure(hre) {
    const { ethers } = hre;
    const [holder, alice, bob] = await ethers.getSigners();
    const token = await ethers.deployContract("KMSToken", [holder.address, 10n ** 27n]);
    await (await token.transfer(alice.address, 1000n)).wait();
    return [
      { operation: "transfer (to a new holder)", gas: await gasOf(token.transfer(bob.address, 10n)) },
      { operation: "transfer (to an existing holder)", gas: await gasOf(token.transfer(bob.address, 10n)) },
      { operation: "approve", gas: await gasOf(token.approve(alice.address, 100n)) },
    ];
  },
};
