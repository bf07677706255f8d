// Token tasks: read balances of the KMS token, send it.
import { kms } from "./scope";
import { addressFor, FROM, signerFor } from "./accounts";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { kmsTypes, parseAmount } from "../src/cli/args";
import { checkBalance } from "../src/cli/checks";
import { toJson } from "../src/cli/print";

kms
  .task("balance", "Prints the KMS balance of an account")
  .addParam("account", "Address or account index (#3) to inspect", undefined, kmsTypes.account)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async ({ account, json }: { account: string; json: boolean }, hre) => {
    const { token } = await loadDeployment(hre);
    const address = await addressFor(hre, account);
    const balance = await token.balanceOf(address);
    if (json) console.log(toJson({ account: address, balance }));
    else console.log(`${address}: ${formatKms(balance)} KMS`);
    return balance;
  });

kms
  .task("transfer", "Sends KMS from an account to another")
  .addParam("to", "Recipient: address or account index (#3)", undefined, kmsTypes.account)
  .addParam("amount", "Amount in KMS, e.g. 20000 or 0.5", undefined, kmsTypes.kms)
  .addOptionalParam("from", FROM, undefined, kmsTypes.account)
  .setAction(async (args: { to: string; amount: string; from?: string }, hre) => {
    const { token } = await loadDeployment(hre);
    const amount = parseAmount(args.amount, "--amount");
    const signer = await signerFor(hre, args.from);
    const to = await addressFor(hre, args.to);
    await checkBalance(token, signer.address, amount, "a transfer");
    await (await token.connect(signer).transfer(to, amount)).wait();
    console.log(`${signer.address} sent ${formatKms(amount)} KMS to ${to}`);
  });
