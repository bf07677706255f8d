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

    /// @notice Most nodes one {nodesPage} call returns: about 10k gas each, so a page fits any node's eth_call cap.
    uint256 public constant MAX_PAGE = 1000;
    /// @dev Bytes per node in {nodesPage}.
    uint256 private constant NODE_VIEW_LENGTH = 80;

    mapping(address staker => NodeRecord) private _nodes;
    /// @dev Every staker that ever announced, in order of first announcement: the paged view walks it. It only
    /// grows (one slot per node's first announcement); clients skip entries whose stake is gone.
    address[] private _stakers;

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
        if (_nodes[staker].announcedAt == 0) _stakers.push(staker);
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

    /// @inheritdoc INodeDirectory
    function nodeCount() external view returns (uint256) {
        return _stakers.length;
    }

    /// @inheritdoc INodeDirectory
    function nodesPage(uint256 start, uint256 count) external view returns (bytes memory page) {
        uint256 total = _stakers.length;
        if (count > MAX_PAGE) revert NodeDirectoryPageTooLarge(count, MAX_PAGE);
        if (start >= total) return page;
        uint256 end = total - start < count ? total : start + count;
        uint256 length = (end - start) * NODE_VIEW_LENGTH;
        // 16 bytes of slack: each entry is copied as three words, the last one half past the entry.
        page = new bytes(length + 16);
        for (uint256 i = start; i < end; ++i) {
            address staker = _stakers[i];
            IStakingEscrow.StakerInfo memory info = escrow.getStakerInfo(staker);
            // Casts fit: the escrow stores these fields in 96 and 32 bits.
            bytes memory entry = abi.encodePacked(
                staker,
                info.operatorConfirmed ? info.operator : address(0),
                _nodes[staker].operator,
                uint96(info.lockedValue),
                uint32(info.unlockPeriod),
                uint32(info.lastCommittedPeriod)
            );
            uint256 at = (i - start) * NODE_VIEW_LENGTH;
            assembly ("memory-safe") {
                // 80 bytes: two full words and the first 16 bytes of a third (the rest of that word is
                // overwritten by the next entry, or is the slack after the last one).
                let from := add(entry, 0x20)
                let to := add(add(page, 0x20), at)
                mstore(to, mload(from))
                mstore(add(to, 0x20), mload(add(from, 0x20)))
                mstore(add(to, 0x40), mload(add(from, 0x40)))
            }
        }
        assembly ("memory-safe") {
            mstore(page, length) // drop the slack
        }
    }
}
