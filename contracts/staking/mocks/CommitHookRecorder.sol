// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPolicyCommitHook} from "../../interfaces/IPolicyCommitHook.sol";

/// @title CommitHookRecorder
/// @notice Test double of the policy manager: records each `onCommit` call, so the escrow's tests can check
/// the hook without the real PolicyManager. Never deployed outside tests.
contract CommitHookRecorder is IPolicyCommitHook {
    /// @notice Emitted for each recorded call.
    event CommitRecorded(address indexed caller, address indexed staker, uint256 period);

    /// @notice Number of calls recorded.
    uint256 public calls;

    /// @inheritdoc IPolicyCommitHook
    function onCommit(address staker, uint256 period) external returns (uint256 feesCredited) {
        calls += 1;
        emit CommitRecorded(msg.sender, staker, period);
        // A recognisable credit, so the escrow's tests can check it lands in CommitmentMade.
        return period;
    }
}
