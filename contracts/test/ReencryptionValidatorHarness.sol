// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReencryptionValidator, Verdict} from "../lib/ReencryptionValidator.sol";

/// @title ReencryptionValidatorHarness
/// @notice Exposes the ReencryptionValidator library to tests.
contract ReencryptionValidatorHarness {
    /// @notice See {ReencryptionValidator.requireCanonical} and {ReencryptionValidator.validate}.
    function validate(
        bytes calldata capsule,
        bytes calldata cfrag,
        bytes calldata keys,
        bytes calldata hints
    ) external view returns (Verdict) {
        ReencryptionValidator.requireCanonical(capsule, cfrag, keys);
        return ReencryptionValidator.validate(capsule, cfrag, keys, hints);
    }

    /// @notice See {ReencryptionValidator.challenge}.
    function challenge(bytes calldata capsule, bytes calldata cfrag) external view returns (uint256) {
        return ReencryptionValidator.challenge(capsule, cfrag);
    }

    /// @notice See {ReencryptionValidator.kfragValidityDigest}.
    function kfragValidityDigest(bytes calldata cfrag, bytes calldata keys) external view returns (bytes32) {
        return ReencryptionValidator.kfragValidityDigest(cfrag, keys);
    }
}
