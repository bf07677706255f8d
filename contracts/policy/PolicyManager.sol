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
    /// @dev Creation costs about 30k gas per node and refund/revoke loop over the nodes too; 32 keeps every
    /// policy call near or under 1.2M gas, far below a block, while covering any practical m-of-n split.
    uint256 public constant MAX_NODES = 32;

    /// @notice EIP-712 type of a revocation signed by the policy owner.
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(bytes16 policyId,uint256 nonce,uint256 deadline)");

    // solhint-disable immutable-vars-naming
    IStakingEscrow private immutable _escrow;
    IERC20 private immutable _token;
    uint256 private immutable _periodDuration;
    // solhint-enable immutable-vars-naming

    // Both ≤ 2^96 − 1 (checked in {setFeeRateRange}), so they share one slot.
    uint96 private _minFeeRate;
    uint96 private _maxFeeRate;

    mapping(bytes16 policyId => bytes32 commitment) private _policies;
    // 96-bit amounts: every rate and fee is bounded by the deposits, so by the token supply (< 2^96, checked).
    mapping(address node => NodeFees) private _nodeFees;
    mapping(address node => mapping(uint256 period => uint256 decrease)) private _rateDrops;
    // Bit `p % 256` of word `p / 256` is set when the node committed to period `p`.
    mapping(address node => mapping(uint256 word => uint256 bits)) private _commitBits;
    mapping(address node => uint256 minFeeRate) private _minFeeRates;

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
        uint256 supply = _token.totalSupply();
        if (supply > type(uint96).max) revert TokenSupplyTooLarge(supply);
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
    ) external nonReentrant returns (uint256 deposit) {
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
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 deposit) {
        deposit = _createPolicy(policyId, owner, nodes, endPeriod, feeRate);
        // A failed permit (e.g. front-run with the same signature) must not block the call when the allowance
        // it would have set is already there; the transfer below is the real check.
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), deposit, deadline, v, r, s) {} catch {}
        _token.safeTransferFrom(msg.sender, address(this), deposit);
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
    function onCommit(address staker, uint256 period) external {
        if (msg.sender != address(_escrow)) revert NotEscrow(msg.sender);
        NodeFees memory node = _nodeFees[staker];
        uint256 cursor = node.cursor;
        if (period <= cursor) revert CommitNotAfterCursor(staker, period, cursor);
        // A cursor of 0 means the node never committed nor served a policy: nothing is scheduled.
        uint256 rate = cursor == 0 ? 0 : _applyDrops(staker, node.rate, cursor, period);
        node.previousCommitted = node.cursorCommitted && cursor + 1 == period;
        node.cursorCommitted = true;
        node.cursor = SafeCast.toUint32(period);
        node.rate = uint96(rate); // rate only decreased from a uint96
        node.fees += uint96(rate);
        _nodeFees[staker] = node;
        _commitBits[staker][period >> 8] |= 1 << (period & 0xff);
        emit FeesCredited(staker, period, rate);
    }

    /// @inheritdoc IPolicyManager
    function withdrawFees() external nonReentrant returns (uint256 amount) {
        NodeFees storage node = _nodeFees[msg.sender];
        uint256 fees = node.fees;
        uint256 held = _heldCredit(node.cursor, node.rate);
        amount = fees - held;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        node.fees = uint96(held); // held ≤ fees < 2^96
        emit FeesWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IPolicyManager
    function setMinFeeRate(address node, uint256 minFeeRate) external {
        if (msg.sender != node && msg.sender != _escrow.operatorOf(node)) revert NotNodeOrOperator(node, msg.sender);
        if (minFeeRate > type(uint96).max) revert MinFeeRateTooLarge(minFeeRate);
        _minFeeRates[node] = minFeeRate;
        emit MinFeeRateSet(node, minFeeRate);
    }

    /// @inheritdoc IPolicyManager
    function syncNode(address node, uint256 target) external {
        NodeFees memory info = _nodeFees[node];
        uint256 cursor = info.cursor;
        if (cursor == 0 || target <= cursor || target > _currentPeriod()) {
            revert InvalidSyncTarget(node, target, cursor);
        }
        info.rate = uint96(_applyDrops(node, info.rate, cursor, target)); // only decreased
        info.previousCommitted = info.cursorCommitted && cursor + 1 == target;
        info.cursorCommitted = false;
        info.cursor = uint32(target); // target ≤ current period < cursor bound of 2^32 checked at commit
        _nodeFees[node] = info;
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
        return _minFeeRates[node];
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
        NodeFees storage info = _nodeFees[node];
        return info.fees - _heldCredit(info.cursor, info.rate);
    }

    /// @inheritdoc IPolicyManager
    function pendingRewards(address node) external view returns (uint256) {
        return _escrow.pendingReward(node) + pendingFees(node);
    }

    /// @inheritdoc IPolicyManager
    function getNodeFees(address node) external view returns (NodeFees memory) {
        return _nodeFees[node];
    }

    /// @inheritdoc IPolicyManager
    function rateDropAt(address node, uint256 period) external view returns (uint256) {
        return _rateDrops[node][period];
    }

    /// @inheritdoc IPolicyManager
    function hasCommitted(address node, uint256 period) external view returns (bool) {
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
        emit PolicyCreated(policyId, owner, current, endPeriod, feeRate, deposit, nodes);
    }

    /// @dev Reverts unless `feeRate` is within the owner's range.
    function _checkFeeRate(uint256 feeRate) private view {
        uint256 min = _minFeeRate;
        uint256 max = _maxFeeRate;
        if (feeRate < min || feeRate > max) revert FeeRateOutOfRange(feeRate, min, max);
    }

    /// @dev Checks every node and adds the policy `[current, endPeriod)` at `feeRate` to each.
    function _addNodes(address[] calldata nodes, uint256 current, uint256 endPeriod, uint256 feeRate) private {
        uint256 count = nodes.length;
        address previous;
        // Bounded by MAX_NODES. Ascending order finds duplicates in one pass, without a memory set.
        for (uint256 i; i < count; ++i) {
            address node = nodes[i];
            if (i != 0 && node <= previous) {
                if (node == previous) revert DuplicateNode(node);
                revert NodesNotAscending(i);
            }
            _checkNode(node, endPeriod, feeRate);
            _addToNode(node, current, endPeriod, feeRate);
            previous = node;
        }
    }

    /// @dev Reverts unless `node` is bonded, locked through `endPeriod` and accepts `feeRate`.
    function _checkNode(address node, uint256 endPeriod, uint256 feeRate) private view {
        if (_escrow.operatorOf(node) == address(0)) revert NodeNotBonded(node);
        (uint256 lockedValue, uint256 unlockPeriod) = _escrow.getLock(node);
        if (lockedValue == 0 || unlockPeriod < endPeriod) {
            revert NodeNotLocked(node, lockedValue, unlockPeriod, endPeriod);
        }
        uint256 nodeMin = _minFeeRates[node];
        if (feeRate < nodeMin) revert FeeRateBelowNodeMinimum(node, feeRate, nodeMin);
    }

    /// @dev Adds a policy `[current, endPeriod)` at `feeRate` to `node`'s running rate and schedules its end.
    /// The cursor is at most `current + 1` (commitments go one period ahead); periods up to the cursor that the
    /// node already committed to are credited here, since their commitment will not come again.
    function _addToNode(address nodeAddress, uint256 current, uint256 endPeriod, uint256 feeRate) private {
        NodeFees memory node = _nodeFees[nodeAddress];
        uint256 cursor = node.cursor;
        uint256 credit;
        if (cursor == 0) {
            // A node that never committed nor served: start its cursor here (nothing is scheduled before).
            cursor = current;
            node.cursor = uint32(current); // current < endPeriod ≤ 2^32 − 1
        } else if (cursor == current) {
            if (node.cursorCommitted) credit = feeRate;
        } else if (cursor > current) {
            // cursor == current + 1, reached only by a commitment.
            if (node.previousCommitted) credit = feeRate;
            if (endPeriod > cursor) credit += feeRate;
        }
        if (endPeriod > cursor) {
            node.rate += uint96(feeRate); // feeRate ≤ max fee rate < 2^96; the sum is checked
            _rateDrops[nodeAddress][endPeriod] += feeRate;
        }
        if (credit != 0) node.fees += uint96(credit); // credit ≤ 2 × feeRate, checked sum
        _nodeFees[nodeAddress] = node;
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
        for (uint256 i; i < count; ++i) {
            _removeFromNode(policy.nodes[i], newEnd, endPeriod, feeRate);
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

    /// @dev Moves the end of a policy at `feeRate` for `nodeAddress` from `endPeriod` to `newEnd` (the next period,
    /// ≥ the cursor). If the node already committed to `newEnd`, its credit for it is taken back: that credit is
    /// never withdrawable before `newEnd` begins ({_heldCredit}), so it is still there.
    function _removeFromNode(address nodeAddress, uint256 newEnd, uint256 endPeriod, uint256 feeRate) private {
        // endPeriod > newEnd ≥ cursor: the decrease scheduled at creation is still pending and holds feeRate.
        _rateDrops[nodeAddress][endPeriod] -= feeRate;
        NodeFees storage node = _nodeFees[nodeAddress];
        if (node.cursor == newEnd) {
            // rate covers newEnd and includes this policy; fees include rate for newEnd. Both are ≥ feeRate.
            node.rate -= uint96(feeRate);
            node.fees -= uint96(feeRate);
        } else {
            _rateDrops[nodeAddress][newEnd] += feeRate;
        }
    }

    /// @dev Applies the scheduled decreases of `node` in `(from, to]` to `rate` and clears them (gas refund).
    function _applyDrops(address node, uint256 rate, uint256 from, uint256 to) private returns (uint256) {
        mapping(uint256 => uint256) storage drops = _rateDrops[node];
        // One slot per period since the cursor: 1 for a node committing every period, whatever its policies.
        for (uint256 period = from + 1; period <= to; ++period) {
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

    /// @dev Number of periods in `[from, to)` (`from < to`) that `node` committed to.
    function _countCommits(address node, uint256 from, uint256 to) private view returns (uint256 count) {
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
}
