// All operator-facing commands live under one scope: `npx hardhat kms <task>`.
import "./token";
import "./staking";
import "./network";
import "./lifecycle";
import "./node";
import "./slashing";
import "./policy";
import "./status";
import "./conditions";
