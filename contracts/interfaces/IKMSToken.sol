// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title IKMSToken
/// @notice The KMS token: a fixed-supply ERC-20 with EIP-2612 permit. There is no mint function; mining
/// rewards are paid from a reserve that the deployment moves into the staking escrow.
interface IKMSToken is IERC20, IERC20Permit {
    /// @notice The constructor was given the zero address as the holder of the initial supply.
    error KMSTokenZeroHolder();

    /// @notice The constructor was given a total supply of zero.
    error KMSTokenZeroSupply();
}
