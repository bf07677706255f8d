// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IStakingEscrow} from "../interfaces/IStakingEscrow.sol";
import {IPolicyCommitHook} from "../interfaces/IPolicyCommitHook.sol";
import {IPolicyManager} from "../interfaces/IPolicyManager.sol";

/// @title PolicyManager
/// @notice Holds policy deposits and pays nodes their fees, period by period, for the periods they proved
/// activity in through the staking escrow. See {IPolicyManager} and docs/policy.md for the accounting model.
/// @dev Per node: `rate` is the sum of the fee rates of the node's policies covering period `cursor`. A new
/// policy raises `rate` at once (the periods between the cursor and its start can no longer be committed to,
/// so the early raise pays nothing extra) and schedules the decrease at its end in `_rateDrops`. A commitment
/// to period `p` applies the decreases in `(cursor, p]` and credits `rate`: one slot read per period since the
/// last commitment, independent of the number of policies. Every (node, period) pair of a policy is in exactly
/// one state: credited (committed, before the end), refunded (missed and settled, or revoked), or still held.
contract PolicyManager is IPolicyManager, Ownable2Step, ReentrancyGuardTransient, EIP712, Nonces {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPolicyManager
    /// @dev Creation costs about 36k gas per node and refund/revoke loop over the nodes too; 32 keeps every
    /// policy call near or under 1.2M gas, far below a block, while covering any practical m-of-n split.
    uint256 public constant MAX_NODES = 32;

    /// @inheritdoc IPolicyManager
    /// @dev Node amounts are stored in these units, so a node's rate, fees and minimum share one 64-bit-field slot
    /// with its cursor (saving a cold slot read per node at creation). 10^-9 KMS is far below any useful fee.
    uint256 public constant FEE_UNIT = 1e9;

    /// @notice EIP-712 type of a revocation signed by the policy owner.
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(bytes16 policyId,uint256 nonce,uint256 deadline)");

    /// @notice EIP-712 type of a condition set signed by the policy owner (src/conditions/binding.ts).
    bytes32 public constant CONDITIONS_TYPEHASH = keccak256(
        "PolicyConditions(bytes16 policyId,uint64 version,bytes32 conditionsHash)"
    );

    // solhint-disable immutable-vars-naming
    IStakingEscrow private immutable _escrow;
    IERC20 private immutable _token;
    uint256 private immutable _periodDuration;
    /// @dev The escrow's accountability window: a node's lock must outlast a policy by this many periods.
    uint256 private immutable _minOperatorPeriods;
    // solhint-enable immutable-vars-naming

    // Both ≤ 2^96 − 1 (checked in {setFeeRateRange}), so they share one slot.
    uint96 private _minFeeRate;
    uint96 private _maxFeeRate;

    /// @dev One slot per node. Amounts in {FEE_UNIT}s: every rate and fee is bounded by the deposits, so by the
    /// token supply, which the constructor checks is below 2^64 units. Periods fit 32 bits (checked at creation).
    struct NodeSlot {
        uint64 rate; // sum of the fee rates of the node's policies covering `cursor`
        uint32 cursor; // scheduled decreases applied through this period
        bool cursorCommitted; // the node committed to `cursor`
        bool previousCommitted; // the node committed to `cursor - 1`
        uint64 fees; // credited, not withdrawn; includes the credit for `cursor` while it lies ahead
        uint48 minFeeRate; // the node's minimum for new policies (below 2^48 units: 281,474 KMS per period)
        // No scheduled decrease lies in (cursor, cursor + dropFree]: a commitment that far ahead reads no
        // `_rateDrops` slot (a cold read, 2.1k gas). A lower bound, so 0 is always safe; the maximum, when the node
        // has no pending decrease at all (rate 0).
        uint16 dropFree;
        // Commitment bits of the 16-period block holding `cursor` (bit `p % 16` for period `p`); they reach
        // `_commitBits` only when the cursor leaves the block, so a commitment inside a block writes no other slot.
        uint16 blockCommits;
    }

    /// @dev Periods per block of {NodeSlot.blockCommits}; a power of two dividing 256 (a `_commitBits` word).
    uint256 private constant BLOCK_BITS = 4;

    mapping(bytes16 policyId => bytes32 commitment) private _policies;
    mapping(address node => NodeSlot) private _nodes;
    // Scheduled decreases of a node's rate, in FEE_UNITs.
    mapping(address node => mapping(uint256 period => uint256 decrease)) private _rateDrops;
    // Bit `p % 256` of word `p / 256` is set when the node committed to period `p`, for periods outside the block
    // of the node's cursor (those are in {NodeSlot.blockCommits}).
    mapping(address node => mapping(uint256 word => uint256 bits)) private _commitBits;

    /// @dev A policy's access-conditions commitment (docs/conditions.md); last in the layout, touched only by the
    /// conditions functions, so policies without conditions pay nothing for it.
    struct ConditionsCommitment {
        uint64 version;
        bytes32 conditionsHash;
    }
    mapping(bytes16 policyId => ConditionsCommitment) private _conditions;

    /// @notice Connects to `escrow_` (its token and period length) and sets the owner and fee-rate range.
    /// @param escrow_ The staking escrow; the only caller of {onCommit}.
    /// @param initialOwner Owner (two-step transferable); sets the fee-rate range.
    /// @param minFeeRate Lowest fee rate for new policies, in wei.
    /// @param maxFeeRate Highest fee rate for new policies, in wei.
    constructor(
        IStakingEscrow escrow_,
        address initialOwner,
        uint256 minFeeRate,
        uint256 maxFeeRate
    ) Ownable(initialOwner) EIP712("KMS PolicyManager", "1") {
        if (address(escrow_) == address(0)) revert ZeroAddress();
        _escrow = escrow_;
        _token = escrow_.token();
        _periodDuration = escrow_.periodDuration();
        _minOperatorPeriods = escrow_.minOperatorPeriods();
        uint256 supply = _token.totalSupply();
        if (supply / FEE_UNIT > type(uint64).max) revert TokenSupplyTooLarge(supply);
        _setFeeRateRange(minFeeRate, maxFeeRate);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Policies
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyManager
    function createPolicy(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate
    ) external returns (uint256 deposit) {
        // No reentrancy guard: no token leaves, and the only external calls are escrow views and, last, the pull
        // of the deposit from the KMS token (no transfer hooks).
        deposit = _createPolicy(policyId, owner, nodes, endPeriod, feeRate);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IPolicyManager
    function createPolicyWithPermit(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate,
        PermitSignature calldata permit
    ) external returns (uint256 deposit) {
        deposit = _createPolicy(policyId, owner, nodes, endPeriod, feeRate);
        _permit(permit);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IPolicyManager
    function extendPolicy(
        bytes16 policyId,
        Policy calldata policy,
        uint256 newEndPeriod
    ) external returns (uint256 deposit) {
        // No reentrancy guard, as for creation: no token leaves and the pull of the deposit comes last.
        deposit = _extendPolicy(policyId, policy, newEndPeriod);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IPolicyManager
    function extendPolicyWithPermit(
        bytes16 policyId,
        Policy calldata policy,
        uint256 newEndPeriod,
        PermitSignature calldata permit
    ) external returns (uint256 deposit) {
        deposit = _extendPolicy(policyId, policy, newEndPeriod);
        _permit(permit);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IPolicyManager
    function moveSlot(
        bytes16 policyId,
        Policy calldata policy,
        uint256 index,
        address newNode
    ) external nonReentrant returns (uint256 refunded) {
        _verify(policyId, policy);
        if (msg.sender != policy.owner) revert NotPolicyOwner(policyId, msg.sender, policy.owner);
        uint256 current = _currentPeriod();
        _checkLive(policyId, policy.endPeriod, current);
        uint256 count = policy.nodes.length;
        if (index >= count) revert SlotIndexOutOfRange(index, count);
        if (newNode == address(0)) revert ZeroAddress();
        // Bounded by MAX_NODES. The list is no longer ascending after a move, so duplicates are found by a scan.
        for (uint256 i; i < count; ++i) {
            if (policy.nodes[i] == newNode) revert DuplicateNode(newNode);
        }
        _checkNode(newNode, policy.endPeriod);
        // Cut-over: the periods from the next one on move (commitments go one period ahead, so `current` is final
        // and stays with the old node). The missed periods before the cut-over are settled now, while the old
        // node is still in the list, so later refunds only ever count the new node's commitments (endPeriod >
        // current + 1, so `_refundable` settles exactly through `fromPeriod`).
        uint256 fromPeriod = current + 1;
        (refunded, ) = _refundable(policy);
        address previous = _replaceNode(policyId, policy, index, newNode, fromPeriod);
        if (refunded != 0) emit PolicyRefunded(policyId, fromPeriod, refunded);
        emit PolicySlotMoved(policyId, index, previous, newNode, fromPeriod);
        if (refunded != 0) _token.safeTransfer(policy.owner, refunded);
    }

    /// @inheritdoc IPolicyManager
    function revokePolicy(bytes16 policyId, Policy calldata policy) external nonReentrant returns (uint256) {
        bytes32 nodesHash = _verify(policyId, policy);
        if (msg.sender != policy.owner) revert NotPolicyOwner(policyId, msg.sender, policy.owner);
        return _revoke(policyId, policy, nodesHash);
    }

    /// @inheritdoc IPolicyManager
    function revokePolicyWithSig(
        bytes16 policyId,
        Policy calldata policy,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256) {
        bytes32 nodesHash = _verify(policyId, policy);
        if (block.timestamp > deadline) revert RevokeSignatureExpired(deadline, block.timestamp);
        // The nonce is consumed here, so the same signature recovers to nobody on a second use.
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REVOKE_TYPEHASH, policyId, _useNonce(policy.owner), deadline))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(policy.owner, digest, signature)) {
            revert InvalidRevokeSignature(policyId, policy.owner);
        }
        return _revoke(policyId, policy, nodesHash);
    }

    /// @inheritdoc IPolicyManager
    function refund(bytes16 policyId, Policy calldata policy) external nonReentrant returns (uint256 amount) {
        bytes32 nodesHash = _verify(policyId, policy);
        if (msg.sender != policy.owner) revert NotPolicyOwner(policyId, msg.sender, policy.owner);
        uint256 refundedThrough;
        (amount, refundedThrough) = _refundable(policy);
        if (amount == 0) revert NothingToRefund(policyId);
        _policies[policyId] = _hash(
            policy.owner,
            policy.startPeriod,
            policy.endPeriod,
            refundedThrough,
            policy.feeRate,
            nodesHash
        );
        emit PolicyRefunded(policyId, refundedThrough, amount);
        _token.safeTransfer(policy.owner, amount);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Nodes
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyCommitHook
    function onCommit(address staker, uint256 period) external returns (uint256 feesCredited) {
        if (msg.sender != address(_escrow)) revert NotEscrow(msg.sender);
        // The node's slot as one word (layout in {_addToNode}): one load and one store, where copying the struct
        // back wrote it field by field (~1.2k gas more per commitment).
        NodeSlot storage node = _nodes[staker];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(node.slot)
        }
        uint256 cursor = (word >> 64) & type(uint32).max;
        if (period <= cursor) revert CommitNotAfterCursor(staker, period, cursor);
        if (period > type(uint32).max) revert SafeCast.SafeCastOverflowedUintDowncast(32, period);
        uint256 rate = word & type(uint64).max;
        uint256 dropFree = (word >> 224) & type(uint16).max;
        // Cannot underflow: period > cursor.
        uint256 gap = period - cursor;
        if (gap <= dropFree) {
            // No decrease is due in (cursor, period]: nothing to read.
            dropFree -= gap;
        } else {
            // (cursor, cursor + dropFree] is known to hold none: the walk starts after it.
            rate = _applyDrops(staker, rate, cursor + dropFree, period); // only decreased
            dropFree = 0;
        }
        // rate is the sum of the pending decreases ({_applyDrops}): at 0 none is pending anywhere.
        if (rate == 0) dropFree = type(uint16).max;
        // Checked: fees stay below the supply in units (< 2^64).
        uint256 fees = ((word >> 112) & type(uint64).max) + rate;
        if (fees > type(uint64).max) revert SafeCast.SafeCastOverflowedUintDowncast(64, fees);
        // previousCommitted: the node committed to the old cursor and it is the period just before.
        uint256 previousCommitted = ((word >> 96) & 0xff != 0 && cursor + 1 == period) ? 1 : 0;
        uint256 blockCommits = _moveBlock(staker, word >> 240, cursor, period) | (1 << (period & 15));
        // minFeeRate (bits 176–223) is kept; every other field is rewritten; cursorCommitted = 1.
        word =
            (blockCommits << 240) |
            (dropFree << 224) |
            (word & (uint256(type(uint48).max) << 176)) |
            (fees << 112) |
            (previousCommitted << 104) |
            (1 << 96) |
            (period << 64) |
            rate;
        assembly ("memory-safe") {
            sstore(node.slot, word)
        }
        // No event here: the escrow's CommitmentMade carries the credit (a second event cost 1.8k gas).
        return rate * FEE_UNIT;
    }

    /// @inheritdoc IPolicyManager
    function withdrawFees() external nonReentrant returns (uint256 amount) {
        NodeSlot storage node = _nodes[msg.sender];
        uint256 held = _heldCredit(node.cursor, node.rate);
        amount = (node.fees - held) * FEE_UNIT; // ≤ the supply
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        node.fees = uint64(held); // held ≤ fees < 2^64
        emit FeesWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IPolicyManager
    function setMinFeeRate(address node, uint256 minFeeRate) external {
        if (msg.sender != node && msg.sender != _escrow.operatorOf(node)) revert NotNodeOrOperator(node, msg.sender);
        if (minFeeRate % FEE_UNIT != 0) revert FeeRateNotMultipleOfUnit(minFeeRate, FEE_UNIT);
        if (minFeeRate / FEE_UNIT > type(uint48).max) revert MinFeeRateTooLarge(minFeeRate);
        _nodes[node].minFeeRate = uint48(minFeeRate / FEE_UNIT);
        emit MinFeeRateSet(node, minFeeRate);
    }

    /// @inheritdoc IPolicyManager
    function syncNode(address node, uint256 target) external {
        NodeSlot memory info = _nodes[node];
        uint256 cursor = info.cursor;
        if (cursor == 0 || target <= cursor || target > _currentPeriod()) {
            revert InvalidSyncTarget(node, target, cursor);
        }
        info.rate = uint64(_applyDrops(node, info.rate, cursor, target)); // only decreased
        info.previousCommitted = info.cursorCommitted && cursor + 1 == target;
        info.cursorCommitted = false;
        info.blockCommits = uint16(_moveBlock(node, info.blockCommits, cursor, target)); // 16 bits in, 16 out
        info.cursor = uint32(target); // target ≤ current period < cursor bound of 2^32 checked at commit
        info.dropFree = 0; // the bound was relative to the old cursor; 0 is always safe
        _nodes[node] = info;
        emit NodeSynced(node, target);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyManager
    function setFeeRateRange(uint256 min, uint256 max) external onlyOwner {
        _setFeeRateRange(min, max);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyManager
    function escrow() external view returns (address) {
        return address(_escrow);
    }

    /// @inheritdoc IPolicyManager
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IPolicyManager
    function periodDuration() external view returns (uint256) {
        return _periodDuration;
    }

    /// @inheritdoc IPolicyManager
    function getCurrentPeriod() external view returns (uint256) {
        return _currentPeriod();
    }

    /// @inheritdoc IPolicyManager
    function feeRateRange() external view returns (uint256 min, uint256 max) {
        return (_minFeeRate, _maxFeeRate);
    }

    /// @inheritdoc IPolicyManager
    function minFeeRateOf(address node) external view returns (uint256) {
        return uint256(_nodes[node].minFeeRate) * FEE_UNIT;
    }

    /// @inheritdoc IPolicyManager
    function nonces(address owner) public view override(IPolicyManager, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IPolicyManager
    function policyCommitment(bytes16 policyId) external view returns (bytes32) {
        return _policies[policyId];
    }

    /// @inheritdoc IPolicyManager
    function hashPolicy(Policy calldata policy) external pure returns (bytes32) {
        return
            _hash(
                policy.owner,
                policy.startPeriod,
                policy.endPeriod,
                policy.refundedThrough,
                policy.feeRate,
                keccak256(abi.encodePacked(policy.nodes))
            );
    }

    /// @inheritdoc IPolicyManager
    function refundable(
        bytes16 policyId,
        Policy calldata policy
    ) external view returns (uint256 amount, uint256 refundedThrough) {
        _verify(policyId, policy);
        return _refundable(policy);
    }

    /// @inheritdoc IPolicyManager
    function pendingFees(address node) public view returns (uint256) {
        NodeSlot storage info = _nodes[node];
        return (info.fees - _heldCredit(info.cursor, info.rate)) * FEE_UNIT;
    }

    /// @inheritdoc IPolicyManager
    function pendingRewards(address node) external view returns (uint256) {
        return _escrow.pendingReward(node) + pendingFees(node);
    }

    /// @inheritdoc IPolicyManager
    function getNodeFees(address node) external view returns (NodeFees memory) {
        NodeSlot memory info = _nodes[node];
        return
            NodeFees({
                rate: uint256(info.rate) * FEE_UNIT,
                cursor: info.cursor,
                cursorCommitted: info.cursorCommitted,
                previousCommitted: info.previousCommitted,
                fees: uint256(info.fees) * FEE_UNIT
            });
    }

    /// @inheritdoc IPolicyManager
    function rateDropAt(address node, uint256 period) external view returns (uint256) {
        return _rateDrops[node][period] * FEE_UNIT;
    }

    /// @inheritdoc IPolicyManager
    function hasCommitted(address node, uint256 period) external view returns (bool) {
        NodeSlot storage info = _nodes[node];
        if (period >> BLOCK_BITS == uint256(info.cursor) >> BLOCK_BITS)
            return (info.blockCommits >> (period & 15)) & 1 == 1;
        return (_commitBits[node][period >> 8] >> (period & 0xff)) & 1 == 1;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Checks and records a new policy; returns the deposit the caller must pay.
    function _createPolicy(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate
    ) private returns (uint256 deposit) {
        if (owner == address(0)) revert ZeroAddress();
        if (_policies[policyId] != 0) revert PolicyAlreadyExists(policyId);
        uint256 count = nodes.length;
        if (count == 0) revert EmptyNodeList();
        if (count > MAX_NODES) revert TooManyNodes(count, MAX_NODES);
        uint256 current = _currentPeriod();
        if (endPeriod <= current || endPeriod > type(uint32).max) revert InvalidEndPeriod(endPeriod, current);
        _checkFeeRate(feeRate);
        _addNodes(nodes, current, endPeriod, feeRate);

        // feeRate < 2^96, periods < 2^32, count ≤ 32: the product is far below 2^256.
        deposit = feeRate * (endPeriod - current) * count;
        _policies[policyId] = _hash(owner, current, endPeriod, current, feeRate, keccak256(abi.encodePacked(nodes)));
        emit PolicyCreated(policyId, owner, current, endPeriod, feeRate, nodes);
    }

    /// @dev Checks and records an extension of `policy` to `newEndPeriod`; returns the deposit the caller must pay.
    function _extendPolicy(
        bytes16 policyId,
        Policy calldata policy,
        uint256 newEndPeriod
    ) private returns (uint256 deposit) {
        bytes32 nodesHash = _verify(policyId, policy);
        if (msg.sender != policy.owner) revert NotPolicyOwner(policyId, msg.sender, policy.owner);
        uint256 endPeriod = policy.endPeriod;
        uint256 current = _currentPeriod();
        _checkLive(policyId, endPeriod, current);
        if (newEndPeriod <= endPeriod) revert EndPeriodNotLater(policyId, endPeriod, newEndPeriod);
        if (newEndPeriod > type(uint32).max) revert InvalidEndPeriod(newEndPeriod, current);
        uint256 feeRate = policy.feeRate;
        // The added periods are sold on today's terms, as a new policy would be: the owner's range and each
        // node's current minimum apply.
        _checkFeeRate(feeRate);
        uint256 units = feeRate / FEE_UNIT; // exact: fee rates are multiples of FEE_UNIT
        uint256 count = policy.nodes.length;
        uint256 states = _nodeStates(policy.nodes);
        // Bounded by MAX_NODES (the list matches the stored commitment).
        for (uint256 i; i < count; ++i) {
            address node = policy.nodes[i];
            _checkNodeState(node, states, i, newEndPeriod);
            uint256 minFeeRate = _nodes[node].minFeeRate;
            if (units < minFeeRate) revert FeeRateBelowNodeMinimum(node, feeRate, minFeeRate * FEE_UNIT);
            // endPeriod > current + 1 ≥ cursor: the decrease scheduled at endPeriod is still pending and holds
            // `units`; moving it later keeps the node's rate for the added periods and nothing else changes.
            mapping(uint256 => uint256) storage drops = _rateDrops[node];
            drops[endPeriod] -= units;
            drops[newEndPeriod] += units;
        }
        // feeRate < 2^96, periods < 2^32, count ≤ 32: far below 2^256.
        deposit = feeRate * (newEndPeriod - endPeriod) * count;
        _policies[policyId] = _hash(
            policy.owner,
            policy.startPeriod,
            newEndPeriod,
            policy.refundedThrough,
            feeRate,
            nodesHash
        );
        emit PolicyExtended(policyId, endPeriod, newEndPeriod, deposit);
    }

    /// @dev Hands slot `index` of the verified `policy` to `newNode` from `fromPeriod` (the next period) to the end,
    /// and stores the record with the new node list and `refundedThrough = fromPeriod`. Returns the old node.
    function _replaceNode(
        bytes16 policyId,
        Policy calldata policy,
        uint256 index,
        address newNode,
        uint256 fromPeriod
    ) private returns (address previous) {
        uint256 endPeriod = policy.endPeriod;
        uint256 units = policy.feeRate / FEE_UNIT; // exact: fee rates are multiples of FEE_UNIT
        previous = policy.nodes[index];
        // As a revocation of the old node's share after the current period (taking back a credit for
        // `fromPeriod` it committed to ahead), then as a creation for the new node starting at `fromPeriod`.
        _removeFromNode(previous, fromPeriod, endPeriod, units);
        _addToNode(newNode, fromPeriod - 1, fromPeriod, endPeriod, units);
        address[] memory nodes = policy.nodes;
        nodes[index] = newNode;
        _policies[policyId] = _hash(
            policy.owner,
            policy.startPeriod,
            endPeriod,
            fromPeriod,
            policy.feeRate,
            keccak256(abi.encodePacked(nodes))
        );
    }

    /// @dev Reverts unless the policy ending at `endPeriod` still has a period after the next one, `current + 1`.
    /// A revoked policy ends at most at the period after its revocation, so it never passes. Extensions and slot
    /// moves therefore act only where every node's cursor (≤ current + 1) is before the end.
    function _checkLive(bytes16 policyId, uint256 endPeriod, uint256 current) private pure {
        if (endPeriod <= current) revert PolicyEnded(policyId, endPeriod, current);
        if (endPeriod == current + 1) revert PolicyInLastPeriod(policyId, endPeriod, current);
    }

    /// @dev Applies the caller's EIP-2612 `permit` for this contract. A failed permit (e.g. front-run with the same
    /// signature) must not block the call when the allowance it would have set is already there; the transfer
    /// that follows is the real check.
    function _permit(PermitSignature calldata permit) private {
        try
            IERC20Permit(address(_token)).permit(
                msg.sender,
                address(this),
                permit.value,
                permit.deadline,
                permit.v,
                permit.r,
                permit.s
            )
        // solhint-disable-next-line no-empty-blocks
        {} catch {}
    }

    /// @dev Reverts unless `feeRate` is within the owner's range.
    function _checkFeeRate(uint256 feeRate) private view {
        uint256 min = _minFeeRate;
        uint256 max = _maxFeeRate;
        if (feeRate < min || feeRate > max) revert FeeRateOutOfRange(feeRate, min, max);
        if (feeRate % FEE_UNIT != 0) revert FeeRateNotMultipleOfUnit(feeRate, FEE_UNIT);
    }

    /// @dev Checks every node and adds the policy `[current, endPeriod)` at `feeRate` to each.
    function _addNodes(address[] calldata nodes, uint256 current, uint256 endPeriod, uint256 feeRate) private {
        uint256 count = nodes.length;
        uint256 states = _nodeStates(nodes);
        address previous;
        // Bounded by MAX_NODES. Ascending order finds duplicates in one pass, without a memory set.
        for (uint256 i; i < count; ++i) {
            address node = nodes[i];
            if (i != 0 && node <= previous) {
                if (node == previous) revert DuplicateNode(node);
                revert NodesNotAscending(i);
            }
            _checkNodeState(node, states, i, endPeriod);
            _addToNode(node, current, current, endPeriod, feeRate / FEE_UNIT);
            previous = node;
        }
    }

    /// @dev The escrow's {IStakingEscrow-samplingStates} of `nodes` (40 bytes per node: confirmed operator,
    /// lockedValue, unlockPeriod, lastCommittedPeriod), in one call for the whole list, copied to newly allocated
    /// memory: its address, or 0 if the call failed or its answer is not 40 bytes per node. One call instead of
    /// two per node ({_checkNode}) saves ~1.1k gas per node but costs ~1.7k once (the list encoded twice, the
    /// packed answer built and copied), so a single node is not read this way (0). With 0, {_checkNodeState}
    /// falls back to {_checkNode} for each node, so a failing escrow is reported against the node it failed on.
    function _nodeStates(address[] calldata nodes) private view returns (uint256 states) {
        if (nodes.length < 2) return 0;
        address escrow_ = address(_escrow);
        bytes4 selector = IStakingEscrow.samplingStates.selector;
        assembly ("memory-safe") {
            let count := nodes.length
            let size := mul(count, 40)
            let ptr := mload(0x40)
            // samplingStates(address[]): the selector, the array's offset, its length and the addresses as given.
            mstore(ptr, selector)
            mstore(add(ptr, 4), 0x20)
            mstore(add(ptr, 0x24), count)
            calldatacopy(add(ptr, 0x44), nodes.offset, mul(count, 0x20))
            let ok := staticcall(gas(), escrow_, ptr, add(0x44, mul(count, 0x20)), 0, 0)
            // The answer is abi.encode(bytes): offset 0x20, length, then the entries.
            if and(ok, iszero(lt(returndatasize(), add(0x40, size)))) {
                returndatacopy(ptr, 0, 0x40)
                if and(eq(mload(ptr), 0x20), eq(mload(add(ptr, 0x20)), size)) {
                    returndatacopy(ptr, 0x40, size)
                    states := ptr
                    mstore(0x40, and(add(add(ptr, size), 31), not(31)))
                }
            }
        }
    }

    /// @dev {_checkNode} for node `i` of a list whose states {_nodeStates} read (`states`), or by its own calls
    /// when the batch read failed (`states` 0).
    function _checkNodeState(address node, uint256 states, uint256 i, uint256 endPeriod) private view {
        if (states == 0) return _checkNode(node, endPeriod);
        address operator;
        uint256 lockedValue;
        uint256 unlockPeriod;
        assembly ("memory-safe") {
            let at := add(states, mul(i, 40))
            let head := mload(at)
            operator := shr(96, head)
            lockedValue := and(head, 0xffffffffffffffffffffffff)
            unlockPeriod := shr(224, mload(add(at, 0x20)))
        }
        _requireServable(node, operator, lockedValue, unlockPeriod, endPeriod);
    }

    /// @dev Reverts unless `node` has a confirmed operator and a lock of positive value through `endPeriod` plus the
    /// escrow's `minOperatorPeriods`. Two
    /// small escrow views (`operatorOf`, `getLock`) decoded in scratch memory cost about 1k gas less per node than
    /// one `getStakerInfo`, whose seven-field struct the escrow builds and encodes.
    function _checkNode(address node, uint256 endPeriod) private view {
        address escrow_ = address(_escrow);
        bytes4 operatorOf = IStakingEscrow.operatorOf.selector;
        bytes4 getLock = IStakingEscrow.getLock.selector;
        bool ok;
        address operator;
        uint256 lockedValue;
        uint256 unlockPeriod;
        assembly ("memory-safe") {
            // Scratch space past the free-memory pointer: nothing is allocated, so it may be overwritten.
            let ptr := mload(0x40)
            mstore(ptr, operatorOf)
            mstore(add(ptr, 4), node)
            ok := staticcall(gas(), escrow_, ptr, 36, ptr, 0x20)
            // Yul evaluates arguments right to left, so each size is read in its own statement, after its call.
            ok := and(ok, gt(returndatasize(), 0x1f))
            operator := and(mload(ptr), 0xffffffffffffffffffffffffffffffffffffffff)
            mstore(ptr, getLock)
            mstore(add(ptr, 4), node)
            let lockOk := staticcall(gas(), escrow_, ptr, 36, ptr, 0x40)
            ok := and(ok, and(lockOk, gt(returndatasize(), 0x3f)))
            lockedValue := mload(ptr)
            unlockPeriod := mload(add(ptr, 0x20))
        }
        if (!ok) revert EscrowCallFailed(node);
        _requireServable(node, operator, lockedValue, unlockPeriod, endPeriod);
    }

    /// @dev Reverts unless a node with this confirmed `operator` and lock may serve a policy through `endPeriod`.
    function _requireServable(
        address node,
        address operator,
        uint256 lockedValue,
        uint256 unlockPeriod,
        uint256 endPeriod
    ) private view {
        if (operator == address(0)) revert NodeNotBonded(node);
        // The node commits to a period p only while its lock outlasts p + minOperatorPeriods (the window in which
        // evidence about p can still slash it), so serving the policy's last period needs endPeriod + that window.
        // Cannot overflow: endPeriod < 2^32 and the window is below the escrow's 32-bit minimum lock.
        uint256 required = endPeriod + _minOperatorPeriods;
        if (lockedValue == 0 || unlockPeriod < required) {
            revert NodeNotLocked(node, lockedValue, unlockPeriod, required);
        }
    }

    /// @dev Adds a policy `[startPeriod, endPeriod)` at `units` FEE_UNITs per period to `node`'s running rate and
    /// schedules its end, after checking the node's minimum. `startPeriod` is `current` (creation) or `current + 1`
    /// (a slot move). The cursor is at most `current + 1` (commitments go one period ahead); periods from
    /// `startPeriod` up to the cursor that the node already committed to are credited here, since their
    /// commitment will not come again. Raising the rate before `startPeriod` pays nothing extra: the node can only
    /// commit to `current + 1` onwards.
    function _addToNode(
        address nodeAddress,
        uint256 current,
        uint256 startPeriod,
        uint256 endPeriod,
        uint256 units
    ) private {
        // The node's slot handled as one word (layout of NodeSlot, low bits first: rate 0–63, cursor 64–95,
        // cursorCommitted 96–103, previousCommitted 104–111, fees 112–175, minFeeRate 176–223, dropFree 224–239,
        // blockCommits 240–255): one load, one store and no unpacking of untouched fields, ~400 gas per node below
        // the struct copy.
        NodeSlot storage node = _nodes[nodeAddress];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(node.slot)
        }
        uint256 minFeeRate = (word >> 176) & type(uint48).max;
        if (units < minFeeRate) revert FeeRateBelowNodeMinimum(nodeAddress, units * FEE_UNIT, minFeeRate * FEE_UNIT);
        uint256 cursor = (word >> 64) & type(uint32).max;
        uint256 credit;
        if (cursor == 0) {
            // A node that never committed nor served: start its cursor here (nothing is scheduled before).
            cursor = current; // current < endPeriod ≤ 2^32 − 1
            word |= current << 64;
        } else if (cursor == current) {
            if (startPeriod == current && (word >> 96) & 0xff != 0) credit = units; // cursorCommitted
        } else if (cursor > current) {
            // cursor == current + 1, reached only by a commitment.
            if (startPeriod == current && (word >> 104) & 0xff != 0) credit = units; // previousCommitted
            if (endPeriod > cursor) credit += units;
        }
        if (endPeriod > cursor) {
            // The sum of live rates is bounded by the deposits (< 2^64 units): the check never fails in practice.
            uint256 rate = (word & type(uint64).max) + units;
            if (rate > type(uint64).max) revert SafeCast.SafeCastOverflowedUintDowncast(64, rate);
            word = (word & ~uint256(type(uint64).max)) | rate;
            _rateDrops[nodeAddress][endPeriod] += units;
            // The decrease at endPeriod (> cursor) bounds the decrease-free stretch after the cursor. With no
            // rate before it (nothing pending at all, as for a new node) it is the only bound; the stretch fits 16
            // bits or is cut to 2^16 − 1 (a lower bound stays a true one).
            uint256 free = endPeriod - cursor - 1;
            if (free > type(uint16).max) free = type(uint16).max;
            if (rate == units || free < (word >> 224) & type(uint16).max) {
                word = (word & ~(uint256(type(uint16).max) << 224)) | (free << 224);
            }
        }
        if (credit != 0) {
            uint256 fees = ((word >> 112) & type(uint64).max) + credit;
            if (fees > type(uint64).max) revert SafeCast.SafeCastOverflowedUintDowncast(64, fees);
            word = (word & ~(uint256(type(uint64).max) << 112)) | (fees << 112);
        }
        assembly ("memory-safe") {
            sstore(node.slot, word)
        }
    }

    /// @dev Ends an already verified policy after the current period and refunds the rest.
    function _revoke(bytes16 policyId, Policy calldata policy, bytes32 nodesHash) private returns (uint256 amount) {
        uint256 current = _currentPeriod();
        uint256 newEnd = current + 1;
        uint256 endPeriod = policy.endPeriod;
        if (endPeriod <= newEnd) revert PolicyNotRevocable(policyId, endPeriod, current);
        uint256 feeRate = policy.feeRate;
        uint256 count = policy.nodes.length;
        // Bounded by MAX_NODES (the list matches the commitment made at creation).
        uint256 units = feeRate / FEE_UNIT; // exact: fee rates are multiples of FEE_UNIT
        for (uint256 i; i < count; ++i) {
            _removeFromNode(policy.nodes[i], newEnd, endPeriod, units);
        }
        // Same bound as the deposit, of which this is a part.
        amount = feeRate * (endPeriod - newEnd) * count;
        _policies[policyId] = _hash(
            policy.owner,
            policy.startPeriod,
            newEnd,
            policy.refundedThrough,
            feeRate,
            nodesHash
        );
        emit PolicyRevoked(policyId, msg.sender, newEnd, amount);
        _token.safeTransfer(policy.owner, amount);
    }

    /// @dev Moves the end of a policy at `units` FEE_UNITs for `nodeAddress` from `endPeriod` to `newEnd` (the next
    /// period, ≥ the cursor). If the node already committed to `newEnd`, its credit for it is taken back: that
    /// credit is never withdrawable before `newEnd` begins ({_heldCredit}), so it is still there.
    function _removeFromNode(address nodeAddress, uint256 newEnd, uint256 endPeriod, uint256 units) private {
        // endPeriod > newEnd ≥ cursor: the decrease scheduled at creation is still pending and holds `units`.
        _rateDrops[nodeAddress][endPeriod] -= units;
        NodeSlot storage node = _nodes[nodeAddress];
        if (node.cursor == newEnd) {
            // rate covers newEnd and includes this policy; fees include rate for newEnd. Both are ≥ units,
            // and units < 2^64 since it was added to the uint64 rate.
            node.rate -= uint64(units);
            node.fees -= uint64(units);
        } else {
            _rateDrops[nodeAddress][newEnd] += units;
            // newEnd > cursor here (newEnd ≥ cursor, and not equal): the moved decrease bounds the free stretch.
            uint256 free = newEnd - node.cursor - 1;
            if (free < node.dropFree) node.dropFree = uint16(free);
        }
    }

    /// @dev Applies the scheduled decreases of `node` in `(from, to]` to `rate` and clears them (gas refund).
    /// Invariant: `rate` equals the sum of the node's pending decreases (each policy adds its rate to both, a
    /// revocation moves or removes both, a commitment applies them), so once `rate` is 0 nothing is pending and
    /// the walk stops: a node without live policies costs no slot reads, however long it was away.
    function _applyDrops(address node, uint256 rate, uint256 from, uint256 to) private returns (uint256) {
        mapping(uint256 => uint256) storage drops = _rateDrops[node];
        // One slot per period since the cursor: 1 for a node committing every period, whatever its policies.
        for (uint256 period = from + 1; rate != 0 && period <= to; ++period) {
            uint256 drop = drops[period];
            if (drop != 0) {
                rate -= drop;
                delete drops[period];
            }
        }
        return rate;
    }

    /// @dev What {refund} pays now and the new `refundedThrough`. A period's commitment is final once the period
    /// has begun (commitments go to the next period), so settled periods run up to the current one, inclusive.
    function _refundable(Policy calldata policy) private view returns (uint256 amount, uint256 refundedThrough) {
        uint256 from = policy.refundedThrough;
        uint256 to = _currentPeriod() + 1;
        if (to > policy.endPeriod) to = policy.endPeriod;
        if (to <= from) return (0, from);
        uint256 missed;
        uint256 count = policy.nodes.length;
        // Bounded by MAX_NODES; each node costs one slot per 256 periods.
        for (uint256 i; i < count; ++i) {
            missed += (to - from) - _countCommits(policy.nodes[i], from, to);
        }
        // missed ≤ count × periods, so this is at most the deposit.
        return (missed * policy.feeRate, to);
    }

    /// @dev Moves a node's block of commitment bits from the block of `cursor` to that of `target` (> cursor):
    /// when the block changes, its bits go to their `_commitBits` word (one slot write per 16 periods instead of
    /// one per commitment) and the new block starts empty. Returns the bits of `target`'s block.
    function _moveBlock(address node, uint256 blockCommits, uint256 cursor, uint256 target) private returns (uint256) {
        uint256 oldBlock = cursor >> BLOCK_BITS;
        if (oldBlock == target >> BLOCK_BITS) return blockCommits;
        // A block's bits sit at offset 16 × (block % 16) of word block / 16 (= period / 256 for its periods).
        if (blockCommits != 0) _commitBits[node][oldBlock >> 4] |= blockCommits << ((oldBlock & 15) << BLOCK_BITS);
        return 0;
    }

    /// @dev Number of periods in `[from, to)` (`from < to`) that `node` committed to: the bits in `_commitBits` and
    /// those of the cursor's block, which are only in the node's slot (the two sets never overlap).
    function _countCommits(address node, uint256 from, uint256 to) private view returns (uint256 count) {
        NodeSlot storage info = _nodes[node];
        uint256 blockStart = (uint256(info.cursor) >> BLOCK_BITS) << BLOCK_BITS;
        uint256 blockCommits = info.blockCommits;
        if (blockCommits != 0 && from < blockStart + 16 && to > blockStart) {
            // Mask the block's bits to [from, to) ∩ [blockStart, blockStart + 16).
            uint256 lo = from > blockStart ? from - blockStart : 0;
            uint256 hi = to < blockStart + 16 ? to - blockStart : 16;
            count = _popCount(blockCommits & (((1 << hi) - 1) ^ ((1 << lo) - 1)));
        }
        mapping(uint256 => uint256) storage words = _commitBits[node];
        uint256 firstWord = from >> 8;
        uint256 lastWord = (to - 1) >> 8;
        for (uint256 w = firstWord; w <= lastWord; ++w) {
            uint256 bits = words[w];
            if (bits == 0) continue;
            if (w == firstWord) bits &= type(uint256).max << (from & 0xff);
            if (w == lastWord) bits &= type(uint256).max >> (0xff - ((to - 1) & 0xff));
            count += _popCount(bits);
        }
    }

    /// @dev Number of set bits (SWAR: pairs, nibbles, bytes, then 16-bit lanes summed by one multiplication).
    function _popCount(uint256 x) private pure returns (uint256) {
        unchecked {
            // Each step keeps every lane's count within its lane, so no subtraction borrows across lanes and no
            // addition carries across them; the final multiplication wraps on purpose (only the top lane is read),
            // and the total, ≤ 256, fits the 16-bit top lane.
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x =
                (x & 0x3333333333333333333333333333333333333333333333333333333333333333) +
                ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            x =
                (x & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) +
                ((x >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff);
            return (x * 0x0001000100010001000100010001000100010001000100010001000100010001) >> 240;
        }
    }

    /// @dev The credit for a period the node committed to ahead of time: `rate`, while that period (the cursor)
    /// has not begun. It stays in the contract so a revocation can still take its policy's share back.
    function _heldCredit(uint256 cursor, uint256 rate) private view returns (uint256) {
        return cursor > _currentPeriod() ? rate : 0;
    }

    /// @dev Reverts unless `policy` is the record committed to for `policyId`; returns the hash of its nodes.
    function _verify(bytes16 policyId, Policy calldata policy) private view returns (bytes32 nodesHash) {
        bytes32 stored = _policies[policyId];
        if (stored == 0) revert UnknownPolicy(policyId);
        nodesHash = keccak256(abi.encodePacked(policy.nodes));
        bytes32 actual = _hash(
            policy.owner,
            policy.startPeriod,
            policy.endPeriod,
            policy.refundedThrough,
            policy.feeRate,
            nodesHash
        );
        if (actual != stored) revert PolicyRecordMismatch(policyId);
    }

    function _hash(
        address owner,
        uint256 startPeriod,
        uint256 endPeriod,
        uint256 refundedThrough,
        uint256 feeRate,
        bytes32 nodesHash
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, startPeriod, endPeriod, refundedThrough, feeRate, nodesHash));
    }

    function _setFeeRateRange(uint256 min, uint256 max) private {
        if (min > max || max > type(uint96).max) revert InvalidFeeRateRange(min, max);
        _minFeeRate = uint96(min);
        _maxFeeRate = uint96(max);
        emit FeeRateRangeSet(min, max);
    }

    function _currentPeriod() private view returns (uint256) {
        return block.timestamp / _periodDuration;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Access conditions
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyManager
    function createPolicyWithConditions(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate,
        bytes32 conditionsHash
    ) external returns (uint256 deposit) {
        if (conditionsHash == 0) revert NoConditionsGiven(policyId);
        deposit = _createPolicy(policyId, owner, nodes, endPeriod, feeRate);
        _conditions[policyId] = ConditionsCommitment(1, conditionsHash);
        emit ConditionsSet(policyId, 1, conditionsHash);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IPolicyManager
    function setConditions(bytes16 policyId, Policy calldata policy, uint64 version, bytes32 conditionsHash) external {
        _verify(policyId, policy);
        if (msg.sender != policy.owner) revert NotPolicyOwner(policyId, msg.sender, policy.owner);
        _setConditions(policyId, version, conditionsHash);
    }

    /// @inheritdoc IPolicyManager
    function setConditionsWithSig(
        bytes16 policyId,
        Policy calldata policy,
        uint64 version,
        bytes32 conditionsHash,
        bytes calldata signature
    ) external {
        _verify(policyId, policy);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(CONDITIONS_TYPEHASH, policyId, version, conditionsHash))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(policy.owner, digest, signature)) {
            revert InvalidConditionsSignature(policyId, policy.owner, version);
        }
        _setConditions(policyId, version, conditionsHash);
    }

    /// @inheritdoc IPolicyManager
    function conditionsOf(bytes16 policyId) external view returns (uint64 version, bytes32 conditionsHash) {
        ConditionsCommitment storage held = _conditions[policyId];
        return (held.version, held.conditionsHash);
    }

    /// @dev Records version `version` of a verified policy's conditions; it must exceed the version held.
    function _setConditions(bytes16 policyId, uint64 version, bytes32 conditionsHash) private {
        ConditionsCommitment storage held = _conditions[policyId];
        uint64 current = held.version;
        if (version <= current) revert StaleConditionsVersion(policyId, version, current);
        held.version = version;
        held.conditionsHash = conditionsHash;
        emit ConditionsSet(policyId, version, conditionsHash);
    }
}
