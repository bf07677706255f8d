// Errors of the staking toolkit: one base class, one subclass per cause.

/** Base class of every error raised by src/staking. */
export class StakingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A period count that must be a positive integer was not. */
export class InvalidPeriodsError extends StakingError {
  constructor(what: string, value: bigint | number | string) {
    super(`${what} must be a positive whole number of periods, got ${value}`);
  }
}

/** Time travel was asked of a chain that is not a local development chain. */
export class NotLocalChainError extends StakingError {
  constructor(network: string, chainId: bigint) {
    super(`refusing to advance time on network "${network}" (chain ${chainId}): only hardhat/localhost (31337)`);
  }
}

/** A sample of `n` nodes was asked of fewer eligible nodes. */
export class NotEnoughNodesError extends StakingError {
  constructor(requested: number, available: number) {
    super(`cannot sample ${requested} distinct nodes: only ${available} active node(s) with stake`);
  }
}

/** A sampling input was malformed. */
export class InvalidSampleError extends StakingError {}
