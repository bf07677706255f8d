// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title INodeDirectory
/// @notice Where re-encryption nodes announce how to reach them: an HTTP(S) URL and the Umbral public key
/// that Alice encrypts kfrag deliveries to. Clients discover nodes from here, never from a central list.
interface INodeDirectory {
    /// @notice A node's announcement, keyed by its staker.
    struct NodeRecord {
        address operator;
        uint64 announcedAt;
        bytes encryptingKey;
        string url;
    }

    /// @notice `operator`, bonded to `staker`, announced its `url` and Umbral `encryptingKey`.
    event NodeAnnounced(address indexed staker, address indexed operator, string url, bytes encryptingKey);

    /// @notice The caller is not the current operator of any staker.
    error NodeDirectoryNotAnOperator(address caller);

    /// @notice `staker` has no active lock of at least the minimum stake (`lockedValue` until `unlockPeriod`, now
    /// `currentPeriod`): a node without stake cannot announce.
    error NodeDirectoryNotStaked(address staker, uint256 lockedValue, uint256 unlockPeriod, uint256 currentPeriod);

    /// @notice A page of `count` nodes was asked for; at most `maxPage` fit one call.
    error NodeDirectoryPageTooLarge(uint256 count, uint256 maxPage);

    /// @notice The escrow's {IStakingEscrow-samplingStates} view failed or answered short.
    error NodeDirectoryEscrowFailed();

    /// @notice The URL is empty or longer than `maxLength` bytes.
    error NodeDirectoryBadUrl(uint256 length, uint256 maxLength);

    /// @notice The encrypting key is not a 33-byte compressed secp256k1 point (prefix 0x02 or 0x03).
    error NodeDirectoryBadKey(uint256 length);

    /// @notice Announces (or updates) the caller's node. Only the current, confirmed operator of a staker with an
    /// active lock of at least the escrow's minimum stake may call it.
    /// @dev Emits a {NodeAnnounced} event.
    /// @param url Where the node's HTTP API listens, e.g. `https://node.example:9151`.
    /// @param encryptingKey The node's Umbral public key, 33-byte compressed.
    function announce(string calldata url, bytes calldata encryptingKey) external;

    /// @notice The latest announcement for `staker`'s node; empty fields if it never announced.
    /// @param staker The staker whose node to look up.
    /// @return record The node's operator, time of announcement, encrypting key and URL.
    function nodeOf(address staker) external view returns (NodeRecord memory record);

    /// @notice How many stakers ever announced a node (the length of the list {nodesPage} walks).
    /// @return The number of announced nodes, live or not.
    function nodeCount() external view returns (uint256);

    /// @notice Nodes `start` to `start + count − 1` in order of first announcement, each with its stake state read
    /// from the escrow at the same block: one call per page instead of one per node, so a client finds every
    /// active node of 10,000 in ten calls. Entries past the end are left out; a node's stake may be gone (clients
    /// filter). The URL and key of the few nodes a client samples come from {nodeOf}.
    /// @dev Packed, 80 bytes per node (decoding 1,000 ABI structs costs a client more than the call):
    /// staker (20) ‖ confirmed operator, 0 if none (20) ‖ that operator again if it made the node's latest
    /// announcement, else 0 (20) ‖ lockedValue (12) ‖ unlockPeriod (4) ‖ lastCommittedPeriod (4), integers
    /// big-endian. The announcer is matched on the low 96 bits of its address, which the directory keeps in the
    /// node's list entry so that a page reads one slot of its own per node (a different operator with the same 96
    /// bits takes ~2^96 key trials; {nodeOf} holds the full address). The stake state comes from one
    /// {IStakingEscrow-samplingStates} call per page: about 7.5k gas per node in all (three cold slots).
    /// Reverts with {NodeDirectoryPageTooLarge} if `count` exceeds {MAX_PAGE}.
    /// @param start Index of the first node.
    /// @param count How many nodes at most.
    /// @return page 80 bytes per node, at most `count` nodes.
    function nodesPage(uint256 start, uint256 count) external view returns (bytes memory page);
}
