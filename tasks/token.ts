// Token tasks: read balances of the KMS token.
import { types } from "hardhat/config";
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms, parseKms } from "../src/units";

kms
  .task("balance", "Prints the KMS balance of an account")
  .addParam("account", "Address or account index (#3) to inspect", undefined, types.string)
  .setAction(async ({ account }: { account: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const address = await addressFor(hre, account);
    const balance = await token.balanceOf(address);
    console.log(`${address}: ${formatKms(balance)} KMS (${balance} wei)`);
  });

kms
  .task("transfer", "Sends KMS from an account to another")
  .addParam("to", "Recipient: address or account index (#3)", undefined, types.string)
  .addParam("amount", "Amount in KMS, e.g. 20000 or 0.5", undefined, types.string)
  .addOptionalParam("from", FROM, undefined, types.string)
  .setAction(async (args: { to: string; amount: string; from?: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const signer = await signerFor(hre, args.from);
    const to = await addressFor(hre, args.to);
    const amount = parseKms(args.amount);
    await (await token.connect(signer).transfer(to, amount)).wait();
    console.log(`${signer.address} sent ${formatKms(amount)} KMS to ${to}`);
  });
