// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPolicyCommitHook
/// @notice What the staking escrow tells the policy manager when a node proves activity. Keeping this one
/// call as the only coupling lets the escrow stay ignorant of policies and fees.
interface IPolicyCommitHook {
    /// @notice Records that `staker` committed to be active in `period` (the period after the current one),
    /// so that the fees of every policy the node serves accrue for that period.
    /// @dev Only the staking escrow may call it. Must cost O(1) in the number of policies the node serves. The hook
    /// emits no event: the escrow's `CommitmentMade` carries the returned credit (one event per commitment).
    /// @param staker The staker whose operator committed.
    /// @param period The period committed to.
    /// @return feesCredited The fees credited to `staker` for `period`, in token wei (0 for a node serving no policy).
    function onCommit(address staker, uint256 period) external returns (uint256 feesCredited);
}
