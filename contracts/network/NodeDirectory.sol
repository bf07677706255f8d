// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {INodeDirectory} from "../interfaces/INodeDirectory.sol";
import {IStakingEscrow} from "../interfaces/IStakingEscrow.sol";

/// @title NodeDirectory
/// @notice On-chain discovery of re-encryption nodes. Only the confirmed operator of a staker with an active lock
/// of at least the minimum stake can announce, so every announcement was made by a staked node; clients sample
/// nodes by stake (which also checks that the lock still covers the policy) and then look up how to reach them here.
contract NodeDirectory is INodeDirectory {
    /// @notice Longest URL accepted, in bytes: enough for any real endpoint, small enough to bound storage.
    uint256 public constant MAX_URL_LENGTH = 256;

    /// @notice The staking escrow whose operator bonds decide who may announce.
    IStakingEscrow public immutable escrow;

    mapping(address staker => NodeRecord) private _nodes;

    /// @param escrow_ The staking escrow.
    constructor(IStakingEscrow escrow_) {
        escrow = escrow_;
    }

    /// @inheritdoc INodeDirectory
    function announce(string calldata url, bytes calldata encryptingKey) external {
        address staker = escrow.stakerFromOperator(msg.sender);
        // The operator→staker map is permanent; only the staker's current, confirmed operator speaks for the node.
        if (staker == address(0) || escrow.operatorOf(staker) != msg.sender) {
            revert NodeDirectoryNotAnOperator(msg.sender);
        }
        // The bond outlives the stake: a node with nothing locked now is no node to sample or to trust.
        (uint256 lockedValue, uint256 unlockPeriod) = escrow.getLock(staker);
        uint256 current = escrow.getCurrentPeriod();
        if (lockedValue < escrow.minStake() || current >= unlockPeriod) {
            revert NodeDirectoryNotStaked(staker, lockedValue, unlockPeriod, current);
        }
        uint256 urlLength = bytes(url).length;
        if (urlLength == 0 || urlLength > MAX_URL_LENGTH) revert NodeDirectoryBadUrl(urlLength, MAX_URL_LENGTH);
        if (encryptingKey.length != 33 || (encryptingKey[0] != 0x02 && encryptingKey[0] != 0x03)) {
            revert NodeDirectoryBadKey(encryptingKey.length);
        }
        _nodes[staker] = NodeRecord({
            operator: msg.sender,
            announcedAt: uint64(block.timestamp),
            encryptingKey: encryptingKey,
            url: url
        });
        emit NodeAnnounced(staker, msg.sender, url, encryptingKey);
    }

    /// @inheritdoc INodeDirectory
    function nodeOf(address staker) external view returns (NodeRecord memory record) {
        return _nodes[staker];
    }
}
