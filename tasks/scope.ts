// The `kms` task scope shared by every task file.
import { scope } from "hardhat/config";

export const kms = scope("kms", "umbral-kms: staking, policies, nodes and clients");
