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

    /// @notice Most nodes one {nodesPage} call returns: about 8.5k gas each (four cold storage slots), so a full page
    /// costs under 9M gas and fits the eth_call gas cap of any public endpoint (geth and erigon default to 50M).
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
        uint256 n = total - start < count ? total - start : count;
        address[] memory stakers = new address[](n);
        for (uint256 i; i < n; ++i) stakers[i] = _stakers[start + i];
        // One call for the whole page: the escrow reads its two slots per staker, no struct, no call per node.
        bytes memory states = escrow.samplingStates(stakers);
        // 32 bytes of slack: the last field of an entry is written as a word that ends 28 bytes past the entry.
        page = new bytes(n * NODE_VIEW_LENGTH + 32);
        for (uint256 i; i < n; ++i) {
            address staker = stakers[i];
            uint256 head; // confirmed operator (20 bytes) ‖ lockedValue (12 bytes)
            uint256 tail; // unlockPeriod (4 bytes) ‖ lastCommittedPeriod (4 bytes) ‖ the next state's bytes
            assembly ("memory-safe") {
                let from := add(add(states, 0x20), mul(i, 40))
                head := mload(from)
                tail := mload(add(from, 0x20))
            }
            // A node without a confirmed operator or a lock cannot be sampled: its announcement is not read
            // (one cold slot saved per such node) and reads as 0.
            address announced;
            if (head >> 96 != 0 && uint96(head) != 0) announced = _nodes[staker].operator;
            assembly ("memory-safe") {
                // Each field as a left-aligned word, in order: every write spills only into bytes written next
                // (or into the slack after the last entry).
                let to := add(add(page, 0x20), mul(i, NODE_VIEW_LENGTH))
                mstore(to, shl(96, staker))
                mstore(add(to, 20), head)
                mstore(add(to, 40), shl(96, announced))
                mstore(add(to, 60), shl(160, head))
                mstore(add(to, 72), tail)
            }
        }
        assembly ("memory-safe") {
            mstore(page, mul(n, NODE_VIEW_LENGTH)) // drop the slack
        }
    }
}
