// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IReentrantTokenHooks, ReentrantToken} from "./ReentrantToken.sol";

/// @title MaliciousReceiver
/// @notice Test double of an attacker account (a staker, node, policy owner or reporter that is a contract): it
/// runs any call the test gives it and, when the ReentrantToken calls its hook, re-enters `reentryTarget` with
/// `reentryData` once, recording whether the nested call succeeded and what it returned or reverted with.
/// Never deployed outside tests.
contract MaliciousReceiver is IReentrantTokenHooks {
    /// @notice The re-entrant call ran: `success`, and its return or revert data.
    event ReentryAttempted(bool success, bytes result);

    /// @notice A call made through {execute} reverted with `reason`.
    error ExecuteFailed(bytes reason);

    address public reentryTarget;
    bytes public reentryData;
    bool public reenterOnSend;
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryResult;

    /// @notice Registers this account for the token's hooks.
    /// @param token The hostile token.
    function hook(ReentrantToken token) external {
        token.setHooked(true);
    }

    /// @notice Arms one re-entry: on the next hook (a receive, or a send if `onSend`), call `target` with `data`.
    /// @param target The contract to re-enter.
    /// @param data The call.
    /// @param onSend Re-enter when tokens leave this account (a pull by `transferFrom`) instead of on receipt.
    function arm(address target, bytes calldata data, bool onSend) external {
        reentryTarget = target;
        reentryData = data;
        reenterOnSend = onSend;
        attempted = false;
    }

    /// @notice Runs `data` on `target` as this account; bubbles a revert as {ExecuteFailed}.
    /// @param target The contract to call.
    /// @param data The call.
    /// @return result The return data.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        // A generic actor: the call is whatever the test scripts, so it can only be a low-level one.
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = target.call(data);
        if (!ok) revert ExecuteFailed(result);
    }

    /// @inheritdoc IReentrantTokenHooks
    function tokensSent(address, uint256) external {
        if (reenterOnSend) _reenter();
    }

    /// @inheritdoc IReentrantTokenHooks
    function tokensReceived(address, uint256) external {
        if (!reenterOnSend) _reenter();
    }

    function _reenter() private {
        if (attempted || reentryTarget == address(0)) return;
        attempted = true;
        // The re-entry is arbitrary calldata, and its revert must be recorded rather than bubbled.
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = reentryTarget.call(reentryData);
        reentrySucceeded = ok;
        reentryResult = result;
        emit ReentryAttempted(ok, result);
    }
}
