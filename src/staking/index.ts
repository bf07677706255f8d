// Off-chain staking toolkit: operations, state, time travel on local chains, the schedule and node sampling.
export * from "./errors";
export * from "./actions";
export * from "./staker";
export * from "./time";
export * from "./schedule";
export * from "./sampling";
export * from "./nodes";
