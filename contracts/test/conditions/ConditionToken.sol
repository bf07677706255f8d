// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ConditionToken
/// @notice Test double for access conditions on an ERC-20 balance: anyone may mint, so a test sets the balances
/// it needs. Never deployed outside tests.
contract ConditionToken is ERC20 {
    constructor() ERC20("Condition Token", "CND") {}

    /// @notice Mints `amount` to `to`.
    /// @param to The receiver.
    /// @param amount The amount, in the token's smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
