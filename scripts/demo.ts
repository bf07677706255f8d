// `npm run demo`: the umbral-kms story on an in-process chain, no set-up needed.
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { formatKms } from "../src/units";

async function main(): Promise<void> {
  const { token } = await loadDeployment(hre);
  const [deployer] = await hre.ethers.getSigners();
  console.log(`KMS token deployed at ${await token.getAddress()} on the in-process chain`);
  console.log(`  name/symbol:   ${await token.name()} / ${await token.symbol()}`);
  console.log(`  total supply:  ${formatKms(await token.totalSupply())} KMS`);
  console.log(`  deployer:      ${deployer.address} holds ${formatKms(await token.balanceOf(deployer.address))} KMS`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
