// Token tasks: read balances of the KMS token.
import { types } from "hardhat/config";
import { kms } from "./scope";
import { loadDeployment } from "../src/deployment";
import { formatKms, parseKms } from "../src/units";

kms
  .task("balance", "Prints the KMS balance of an account")
  .addParam("account", "Address to inspect", undefined, types.string)
  .setAction(async ({ account }: { account: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const address = hre.ethers.getAddress(account);
    const balance = await token.balanceOf(address);
    console.log(`${address}: ${formatKms(balance)} KMS (${balance} wei)`);
  });

kms
  .task("transfer", "Sends KMS from an account to another")
  .addParam("to", "Recipient address", undefined, types.string)
  .addParam("amount", "Amount in KMS, e.g. 20000 or 0.5", undefined, types.string)
  .addOptionalParam("from", "Sending account (default: the first configured account)", undefined, types.string)
  .setAction(async (args: { to: string; amount: string; from?: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const signer = args.from
      ? await hre.ethers.getSigner(hre.ethers.getAddress(args.from))
      : (await hre.ethers.getSigners())[0];
    const to = hre.ethers.getAddress(args.to);
    const amount = parseKms(args.amount);
    await (await token.connect(signer).transfer(to, amount)).wait();
    console.log(`${signer.address} sent ${formatKms(amount)} KMS to ${to}`);
  });
