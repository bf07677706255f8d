// Token tasks: read balances of the KMS token.
import { types } from "hardhat/config";
import { kms } from "./scope";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";

kms
  .task("balance", "Prints the KMS balance of an account")
  .addParam("account", "Address to inspect", undefined, types.string)
  .setAction(async ({ account }: { account: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const address = hre.ethers.getAddress(account);
    const balance = await token.balanceOf(address);
    console.log(`${address}: ${formatKms(balance)} KMS (${balance} wei)`);
  });
