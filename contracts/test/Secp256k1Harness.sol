// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Secp256k1} from "../lib/Secp256k1.sol";
import {UmbralBytes} from "../lib/UmbralBytes.sol";

/// @title Secp256k1Harness
/// @notice Exposes the Secp256k1 and UmbralBytes libraries to tests.
contract Secp256k1Harness {
    /// @notice See {Secp256k1.isOnCurve}.
    function isOnCurve(uint256 x, uint256 y) external pure returns (bool) {
        return Secp256k1.isOnCurve(x, y);
    }

    /// @notice See {Secp256k1.requireY}.
    function requireY(uint256 x, bool odd, uint256 y) external view {
        Secp256k1.requireY(x, odd, y);
    }

    /// @notice See {Secp256k1.liftX}.
    function liftX(uint256 x, bool odd) external view returns (uint256) {
        return Secp256k1.liftX(x, odd);
    }

    /// @notice See {Secp256k1.requireProduct}.
    function requireProduct(uint256 px, bool odd, uint256 k, uint256 qx, uint256 qy) external view {
        Secp256k1.requireProduct(px, odd, k, qx, qy);
    }

    /// @notice See {Secp256k1.isProduct}.
    function isProduct(uint256 px, bool odd, uint256 k, uint256 qx, uint256 qy) external view returns (bool) {
        return Secp256k1.isProduct(px, odd, k, qx, qy);
    }

    /// @notice See {Secp256k1.add}.
    function add(
        uint256 ax,
        uint256 ay,
        uint256 bx,
        uint256 by,
        uint256 slope
    ) external pure returns (bool finite, uint256 x, uint256 y) {
        return Secp256k1.add(ax, ay, bx, by, slope);
    }

    /// @notice See {Secp256k1.addCompressed}.
    function addCompressed(
        uint256 ax,
        bool aOdd,
        uint256 bx,
        uint256 by,
        uint256 slope
    ) external view returns (bool finite, uint256 x, uint256 y) {
        return Secp256k1.addCompressed(ax, aOdd, bx, by, slope);
    }

    /// @notice See {Secp256k1.pointAddress}.
    function pointAddress(uint256 x, uint256 y) external pure returns (address) {
        return Secp256k1.pointAddress(x, y);
    }

    /// @notice See {UmbralBytes.point}.
    function point(bytes calldata data, uint256 offset) external pure returns (uint256 x, bool odd) {
        return UmbralBytes.point(data, offset, 0);
    }

    /// @notice See {UmbralBytes.scalar}.
    function scalar(bytes calldata data, uint256 offset) external pure returns (uint256) {
        return UmbralBytes.scalar(data, offset, 0);
    }
}
