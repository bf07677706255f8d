// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice The hooks an ERC-777-style token calls on registered accounts.
interface IReentrantTokenHooks {
    /// @notice Called after `value` left the hooked account for `to` (ERC-777 `tokensToSend`, moved after).
    function tokensSent(address to, uint256 value) external;

    /// @notice Called after the hooked account received `value` from `from` (ERC-777 `tokensReceived`).
    function tokensReceived(address from, uint256 value) external;
}

/// @title ReentrantToken
/// @notice Test double of a hostile KMS token: an ERC-20 with permit that, like ERC-777, calls back into the
/// sender and the receiver of every transfer once they registered. Used to prove that the escrow and the policy
/// manager stay consistent when a token transfer re-enters them. Never deployed outside tests.
contract ReentrantToken is ERC20, ERC20Permit {
    /// @notice Accounts whose hooks this token calls.
    mapping(address account => bool) public hooked;

    /// @param holder Receives the whole supply.
    /// @param supply The supply, in wei.
    constructor(address holder, uint256 supply) ERC20("Reentrant KMS", "rKMS") ERC20Permit("Reentrant KMS") {
        _mint(holder, supply);
    }

    /// @notice Registers (or not) the caller for the transfer hooks.
    /// @param on Whether to call the hooks.
    function setHooked(bool on) external {
        hooked[msg.sender] = on;
    }

    /// @dev Moves the tokens, then calls the hooks: the callee sees the transfer done, as ERC-777 receivers do.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hooked[from]) IReentrantTokenHooks(from).tokensSent(to, value);
        if (hooked[to]) IReentrantTokenHooks(to).tokensReceived(from, value);
    }
}
