// For the declaration build only (web/tsconfig.json): src/staking/time.ts types its argument with Hardhat's
// runtime environment as the hardhat-ethers plugin extends it. Nothing of Hardhat is bundled.
import "@nomicfoundation/hardhat-ethers";
