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

    /// @notice Most nodes one {nodesPage} call returns: about 7.5k gas each (three cold storage slots), so a full
    /// page costs under 8M gas and fits the eth_call gas cap of any public endpoint (geth and erigon default to 50M).
    uint256 public constant MAX_PAGE = 1000;
    /// @dev Bytes per node in {nodesPage}.
    uint256 private constant NODE_VIEW_LENGTH = 80;
    /// @dev Bytes per staker in {IStakingEscrow-samplingStates}.
    uint256 private constant STATE_LENGTH = 40;

    /// @dev A node's announcement as stored: {NodeRecord} plus the node's position in `_entries`, in the slot the
    /// operator and the time fill anyway.
    struct StoredRecord {
        address operator;
        uint64 announcedAt;
        uint32 index;
        bytes encryptingKey;
        string url;
    }

    mapping(address staker => StoredRecord) private _nodes;
    /// @dev One word per staker that ever announced, in order of first announcement; the paged view walks it. The
    /// staker in the low 160 bits, the low 96 bits of the operator that made its latest announcement in the high
    /// 96: a page reads one slot of its own per node, not the record too. It only grows (one slot per node's first
    /// announcement; a new operator's announcement rewrites it); clients skip entries whose stake is gone.
    uint256[] private _entries;

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
        StoredRecord storage record = _nodes[staker];
        uint256 entry = (uint256(uint160(msg.sender)) << 160) | uint160(staker);
        uint256 index;
        if (record.announcedAt == 0) {
            index = _entries.length;
            _entries.push(entry);
        } else {
            index = record.index;
            if (record.operator != msg.sender) _entries[index] = entry;
        }
        record.operator = msg.sender;
        record.announcedAt = uint64(block.timestamp);
        // Fits: 2^32 first announcements would cost over 4 × 10^14 gas.
        record.index = uint32(index);
        record.encryptingKey = encryptingKey;
        record.url = url;
        emit NodeAnnounced(staker, msg.sender, url, encryptingKey);
    }

    /// @inheritdoc INodeDirectory
    function nodeOf(address staker) external view returns (NodeRecord memory record) {
        StoredRecord storage stored = _nodes[staker];
        return
            NodeRecord({
                operator: stored.operator,
                announcedAt: stored.announcedAt,
                encryptingKey: stored.encryptingKey,
                url: stored.url
            });
    }

    /// @inheritdoc INodeDirectory
    function nodeCount() external view returns (uint256) {
        return _entries.length;
    }

    /// @inheritdoc INodeDirectory
    function nodesPage(uint256 start, uint256 count) external view returns (bytes memory page) {
        uint256 total = _entries.length;
        if (count > MAX_PAGE) revert NodeDirectoryPageTooLarge(count, MAX_PAGE);
        if (start >= total) return page;
        uint256 n = total - start < count ? total - start : count;
        uint256 first;
        assembly ("memory-safe") {
            mstore(0, _entries.slot)
            first := add(keccak256(0, 0x20), start) // slot of entry `start`
        }
        (bool ok, bytes memory answer) = address(escrow).staticcall(_statesRequest(first, n));
        // The escrow is the deployment's own contract: its view does not fail; if it ever does, say so.
        if (!ok || answer.length < 0x40 + n * STATE_LENGTH) revert NodeDirectoryEscrowFailed();
        // 32 bytes of slack: the last field of an entry is written as a word that ends 28 bytes past the entry.
        page = new bytes(n * NODE_VIEW_LENGTH + 32);
        assembly ("memory-safe") {
            // `answer` is the ABI encoding of `bytes`: offset, length, then 40 bytes per staker.
            let states := add(answer, 0x60)
            let out := add(page, 0x20)
            let mask96 := 0xffffffffffffffffffffffff
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                let entry := sload(add(first, i)) // warm: read just above
                let from := add(states, mul(i, STATE_LENGTH))
                let head := mload(from) // confirmed operator (20 bytes) ‖ lockedValue (12 bytes)
                let operator := shr(96, head)
                // The confirmed operator made the announcement if its low 96 bits are the entry's (0 if none).
                let announced := mul(operator, eq(and(operator, mask96), shr(160, entry)))
                // Each field as a left-aligned word, in order: every write spills only into bytes written next
                // (or into the slack after the last entry).
                let to := add(out, mul(i, NODE_VIEW_LENGTH))
                mstore(to, shl(96, entry)) // the staker: the entry's low 160 bits
                mstore(add(to, 20), head)
                mstore(add(to, 40), shl(96, announced))
                mstore(add(to, 60), shl(160, head))
                mstore(add(to, 72), mload(add(from, 0x20))) // unlockPeriod ‖ lastCommittedPeriod ‖ (next bytes)
            }
            mstore(page, mul(n, NODE_VIEW_LENGTH)) // drop the slack
        }
    }

    /// @dev The calldata of `samplingStates(address[])` for the `n` stakers whose entries start at slot `first`:
    /// each entry read once (cold), its staker part only.
    function _statesRequest(uint256 first, uint256 n) private view returns (bytes memory request) {
        bytes4 selector = IStakingEscrow.samplingStates.selector;
        request = new bytes(0x44 + n * 0x20);
        assembly ("memory-safe") {
            let at := add(request, 0x20)
            mstore(at, selector)
            mstore(add(at, 0x04), 0x20)
            mstore(add(at, 0x24), n)
            let words := add(at, 0x44)
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                mstore(add(words, shl(5, i)), and(sload(add(first, i)), 0xffffffffffffffffffffffffffffffffffffffff))
            }
        }
    }
}
