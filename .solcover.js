// solidity-coverage settings (npm run coverage, npm run coverage:gate).
// Test doubles are not product code: contracts/test (harnesses and escrow mocks, plus the Malicious* and
// Reentrant* tokens of test/contracts/security) and contracts/staking/mocks stay out of the figures.
module.exports = {
  skipFiles: ["test/", "staking/mocks/"],
  // json-summary feeds scripts/coverage-gate.ts; lcov and text are for people.
  istanbulReporter: ["text", "text-summary", "json-summary", "lcov"],
  mocha: { timeout: 600_000 },
};
