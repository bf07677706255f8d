// Errors of the policy toolkit: one base class, one subclass per cause, each naming the bad value.

/** Base class of every error raised by src/policy. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A policy id that is not 16 bytes of hex. */
export class InvalidPolicyIdError extends PolicyError {
  constructor(value: string) {
    super(`expected a policy id of 16 bytes as 0x-prefixed hex, got ${JSON.stringify(value)}`);
  }
}

/** No PolicyCreated event exists for the id. */
export class PolicyNotFoundError extends PolicyError {
  constructor(policyId: string) {
    super(`no policy ${policyId} was created on this PolicyManager`);
  }
}

/** The record rebuilt from events does not match the commitment the contract stores. */
export class PolicyRecordMismatchError extends PolicyError {
  constructor(policyId: string, expected: string, actual: string) {
    super(`rebuilt record of policy ${policyId} hashes to ${actual}, but the contract stores ${expected}`);
  }
}

/** A node list that the contract would reject. */
export class InvalidNodeListError extends PolicyError {
  constructor(reason: string) {
    super(`invalid node list: ${reason}`);
  }
}

/** A fee rate the contract would reject for its form (not a multiple of the fee unit, or not positive). */
export class InvalidFeeRateError extends PolicyError {
  constructor(value: string, reason: string) {
    super(`invalid fee rate ${JSON.stringify(value)}: ${reason}`);
  }
}

/** A period count that is not a positive integer. */
export class InvalidPeriodsError extends PolicyError {
  constructor(value: string) {
    super(`expected a positive whole number of periods, got ${JSON.stringify(value)}`);
  }
}

/** A policy that can no longer be extended nor have a slot moved: revoked, ended, or in its last period. */
export class PolicyNotLiveError extends PolicyError {
  constructor(policyId: string, reason: string) {
    super(`policy ${policyId} ${reason}`);
  }
}

/** An extension whose new end is not after the policy's current end. */
export class InvalidExtensionError extends PolicyError {
  constructor(policyId: string, endPeriod: bigint, newEndPeriod: bigint) {
    super(
      `policy ${policyId} already runs until period ${endPeriod}; the new end ${newEndPeriod} must be later (was it extended already?)`,
    );
  }
}

/** A slot move naming a slot the policy does not have or a node it already has. */
export class InvalidSlotMoveError extends PolicyError {
  constructor(policyId: string, reason: string) {
    super(`cannot move a slot of policy ${policyId}: ${reason}`);
  }
}
