// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Secp256k1} from "./Secp256k1.sol";

/// @title UmbralBytes
/// @notice Reads rust-umbral 0.10's fixed-size "simple" forms straight from calldata and rejects every encoding
/// that is not the canonical one, so that one piece of evidence has exactly one byte string.
/// @dev Capsule (98 B): E ‖ V ‖ s. CapsuleFrag (359 B): e1 ‖ v1 ‖ id ‖ P ‖ e2 ‖ v2 ‖ U1 ‖ u2 ‖ z ‖ kfrag signature
/// (r ‖ s). Points are 33-byte compressed SEC1 (prefix 02/03, x below the field prime); scalars are 32 bytes
/// big-endian below the group order. The offsets below are those of the 33-byte point or 32-byte field.
library UmbralBytes {
    uint256 internal constant CAPSULE_LENGTH = 98;
    uint256 internal constant CFRAG_LENGTH = 359;
    uint256 internal constant POINT_LENGTH = 33;
    /// @dev delegating key ‖ receiving key ‖ verifying key, each a compressed point.
    uint256 internal constant KEYS_LENGTH = 99;

    uint256 internal constant CAPSULE_E = 0;
    uint256 internal constant CAPSULE_V = 33;
    uint256 internal constant CAPSULE_S = 66;

    uint256 internal constant CFRAG_E1 = 0;
    uint256 internal constant CFRAG_V1 = 33;
    uint256 internal constant CFRAG_ID = 66;
    uint256 internal constant CFRAG_PRECURSOR = 98;
    uint256 internal constant CFRAG_E2 = 131;
    uint256 internal constant CFRAG_V2 = 164;
    uint256 internal constant CFRAG_U1 = 197;
    uint256 internal constant CFRAG_U2 = 230;
    uint256 internal constant CFRAG_Z = 263;
    uint256 internal constant CFRAG_SIGNATURE_R = 295;
    uint256 internal constant CFRAG_SIGNATURE_S = 327;

    uint256 internal constant KEYS_DELEGATING = 0;
    uint256 internal constant KEYS_RECEIVING = 33;
    uint256 internal constant KEYS_VERIFYING = 66;

    /// @notice An input has the wrong length. `what`: 0 capsule, 1 cfrag, 2 keys, 3 hints, 4 evidence (all three).
    error WrongLength(uint8 what, uint256 expected, uint256 actual);
    /// @notice A point at `offset` of input `what` (0 capsule, 1 cfrag, 2 keys) is not canonical compressed SEC1:
    /// its prefix is not 02/03 or its x is not below the field prime.
    error NonCanonicalPoint(uint8 what, uint256 offset, uint8 prefix, uint256 x);
    /// @notice A scalar at `offset` of input `what` is not below the group order.
    error NonCanonicalScalar(uint8 what, uint256 offset, uint256 value);

    /// @notice Reverts with {WrongLength} unless `data` is `expected` bytes long.
    function requireLength(bytes calldata data, uint256 expected, uint8 what) internal pure {
        if (data.length != expected) revert WrongLength(what, expected, data.length);
    }

    /// @notice The 32-byte big-endian word at `offset` (no bounds check: callers checked the length).
    function word(bytes calldata data, uint256 offset) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(data.offset, offset))
        }
    }

    /// @notice The compressed point at `offset`: its x and whether its y is odd. Reverts if not canonical.
    function point(bytes calldata data, uint256 offset, uint8 what) internal pure returns (uint256 x, bool odd) {
        uint256 prefix;
        assembly ("memory-safe") {
            let at := add(data.offset, offset)
            prefix := byte(0, calldataload(at))
            x := calldataload(add(at, 1))
        }
        if ((prefix != 2 && prefix != 3) || x >= Secp256k1.P) {
            revert NonCanonicalPoint(what, offset, uint8(prefix), x);
        }
        odd = prefix == 3;
    }

    /// @notice The scalar at `offset`. Reverts if it is not below the group order.
    function scalar(bytes calldata data, uint256 offset, uint8 what) internal pure returns (uint256 value) {
        value = word(data, offset);
        if (value >= Secp256k1.N) revert NonCanonicalScalar(what, offset, value);
    }
}
