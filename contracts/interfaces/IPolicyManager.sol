// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPolicyCommitHook} from "./IPolicyCommitHook.sol";

/// @title IPolicyManager
/// @notice Policy deposits and node fees. Alice pays `feeRate × periods × nodes` KMS up front for a policy that
/// covers the periods `[startPeriod, endPeriod)` (the start is the period of creation). Each node earns `feeRate`
/// for every policy period it committed to through the staking escrow; the owner gets back the periods a node
/// missed ({refund}) and, on revocation, every period after the current one ({revokePolicy}).
/// @dev Storage holds one 32-byte commitment per policy, `keccak256` of its {Policy} record, instead of the record
/// itself: storing the node list and the fields would cost one 20k-gas slot per node and two more per policy.
/// Calls that act on a policy take the record back as calldata and check it against the commitment; the record
/// is rebuilt off-chain from the {PolicyCreated}, {PolicyExtended}, {PolicySlotMoved}, {PolicyRevoked} and
/// {PolicyRefunded} events (src/policy).
/// Fees accrue per node in O(1) per commitment: a running fee rate, raised when a policy is created and lowered
/// at its end through a per-node, per-period table of scheduled decreases.
interface IPolicyManager is IPolicyCommitHook {
    /// @notice A policy as committed to in storage.
    /// @param owner Receives refunds; may revoke.
    /// @param startPeriod First period covered (the period of creation).
    /// @param endPeriod First period no longer covered; moved to the next period by a revocation, later by an
    /// extension.
    /// @param refundedThrough Periods before it are settled: the missed ones were refunded.
    /// @param feeRate Fee per node per period, in wei.
    /// @param nodes The stakers serving the policy, one per slot: strictly ascending at creation; {moveSlot}
    /// replaces a slot's node in place, so the order is then the slots', duplicates still excluded.
    struct Policy {
        address owner;
        uint32 startPeriod;
        uint32 endPeriod;
        uint32 refundedThrough;
        uint96 feeRate;
        address[] nodes;
    }

    /// @notice An EIP-2612 permit of the payer for this contract, as {createPolicyWithPermit} takes it.
    /// @param value The allowance signed for; at least the deposit (what is left stays as allowance). Signing a
    /// little more than the deposit computed off-chain keeps the permit valid if the period turns (the deposit
    /// then shrinks by one period).
    /// @param deadline Permit deadline.
    /// @param v Signature.
    /// @param r Signature.
    /// @param s Signature.
    struct PermitSignature {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice The fee state of one node, as returned by {getNodeFees}.
    /// Amounts in wei.
    /// @param rate Sum of the fee rates of the node's policies that cover period `cursor`.
    /// @param cursor Scheduled rate decreases are applied through this period (the node's latest commitment,
    /// unless {syncNode} moved it on).
    /// @param cursorCommitted Whether the node committed to `cursor`.
    /// @param previousCommitted Whether the node committed to `cursor - 1`.
    /// @param fees Credited and not withdrawn, including the credit for `cursor` if that period is still ahead.
    struct NodeFees {
        uint256 rate;
        uint256 cursor;
        bool cursorCommitted;
        bool previousCommitted;
        uint256 fees;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------------------

    /// @notice `owner`'s policy `policyId` was created over `[startPeriod, endPeriod)` with `nodes`; the payer
    /// paid `feeRate × (endPeriod − startPeriod) × nodes.length` (not logged: derivable, and log bytes cost gas).
    event PolicyCreated(
        bytes16 indexed policyId,
        address indexed owner,
        uint256 startPeriod,
        uint256 endPeriod,
        uint256 feeRate,
        address[] nodes
    );

    /// @notice Policy `policyId` was revoked by `revoker`: it now ends at `endPeriod`; `refund` went to the owner.
    event PolicyRevoked(bytes16 indexed policyId, address indexed revoker, uint256 endPeriod, uint256 refund);

    /// @notice The missed periods of policy `policyId` before `refundedThrough` were refunded (`refund` in all).
    event PolicyRefunded(bytes16 indexed policyId, uint256 refundedThrough, uint256 refund);

    /// @notice Policy `policyId` was extended from `previousEndPeriod` to `endPeriod`; the owner paid
    /// `addedDeposit` = `feeRate × (endPeriod − previousEndPeriod) × nodes.length`.
    event PolicyExtended(bytes16 indexed policyId, uint256 previousEndPeriod, uint256 endPeriod, uint256 addedDeposit);

    /// @notice Slot `index` of policy `policyId` moved from `previousNode` to `node`: `node` serves and earns the
    /// policy's periods from `fromPeriod` on, `previousNode` kept those before. The record's `refundedThrough`
    /// is now `fromPeriod` (the missed periods before it were settled; a {PolicyRefunded} precedes this event
    /// when that paid anything).
    event PolicySlotMoved(
        bytes16 indexed policyId,
        uint256 index,
        address indexed previousNode,
        address indexed node,
        uint256 fromPeriod
    );

    /// @notice `node` withdrew `amount` of fees.
    event FeesWithdrawn(address indexed node, uint256 amount);

    /// @notice The scheduled fee-rate decreases of `node` were applied through `cursor` without a commitment.
    event NodeSynced(address indexed node, uint256 cursor);

    /// @notice `node` (or its operator) set its minimum fee rate to `minFeeRate`.
    event MinFeeRateSet(address indexed node, uint256 minFeeRate);

    /// @notice The owner set the range allowed for policy fee rates to `[min, max]`.
    event FeeRateRangeSet(uint256 min, uint256 max);

    /// @notice Policy `policyId` now commits to version `version` of its owner's access conditions, the set whose
    /// canonical JSON (RFC 8785) hashes to `conditionsHash` (keccak256); the zero hash lifts every condition.
    event ConditionsSet(bytes16 indexed policyId, uint64 version, bytes32 conditionsHash);

    // ----------------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------------

    /// @notice The token's supply does not fit the 64-bit amounts (in {FEE_UNIT}s) packed into storage.
    error TokenSupplyTooLarge(uint256 supply);

    /// @notice The fee rate `feeRate` is not a multiple of `unit` ({FEE_UNIT}).
    error FeeRateNotMultipleOfUnit(uint256 feeRate, uint256 unit);

    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    /// @notice `caller` is not the staking escrow.
    error NotEscrow(address caller);

    /// @notice A policy with id `policyId` already exists.
    error PolicyAlreadyExists(bytes16 policyId);

    /// @notice No policy with id `policyId` exists.
    error UnknownPolicy(bytes16 policyId);

    /// @notice The record given for `policyId` is not the one committed to (stale or forged).
    error PolicyRecordMismatch(bytes16 policyId);

    /// @notice The node list is empty.
    error EmptyNodeList();

    /// @notice The node list has `count` nodes; at most `max` are allowed.
    error TooManyNodes(uint256 count, uint256 max);

    /// @notice `node` appears more than once in the node list.
    error DuplicateNode(address node);

    /// @notice The node list is not in ascending address order at `index`.
    error NodesNotAscending(uint256 index);

    /// @notice The escrow's `operatorOf(node)` or `getLock(node)` reverted or returned too little data.
    error EscrowCallFailed(address node);

    /// @notice `node` has no bonded operator.
    error NodeNotBonded(address node);

    /// @notice `node` has `lockedValue` locked until `unlockPeriod`; the policy needs a lock until `requiredPeriod`
    /// (its end period plus the escrow's `minOperatorPeriods`, so the node can commit to its last period).
    error NodeNotLocked(address node, uint256 lockedValue, uint256 unlockPeriod, uint256 requiredPeriod);

    /// @notice The end period `endPeriod` is not after the current period `currentPeriod` or exceeds 32 bits.
    error InvalidEndPeriod(uint256 endPeriod, uint256 currentPeriod);

    /// @notice The fee rate `feeRate` is outside the allowed range `[min, max]`.
    error FeeRateOutOfRange(uint256 feeRate, uint256 min, uint256 max);

    /// @notice The fee rate `feeRate` is below `node`'s minimum `minFeeRate`.
    error FeeRateBelowNodeMinimum(address node, uint256 feeRate, uint256 minFeeRate);

    /// @notice `caller` is not the owner `owner` of policy `policyId`.
    error NotPolicyOwner(bytes16 policyId, address caller, address owner);

    /// @notice Policy `policyId` ends at `endPeriod`: no period after the current one, `currentPeriod`, is left.
    error PolicyNotRevocable(bytes16 policyId, uint256 endPeriod, uint256 currentPeriod);

    /// @notice Policy `policyId` ended at `endPeriod` (or was revoked before the current period `currentPeriod`):
    /// it can no longer be extended nor its slots moved.
    error PolicyEnded(bytes16 policyId, uint256 endPeriod, uint256 currentPeriod);

    /// @notice Policy `policyId` ends at `endPeriod`, right after the current period `currentPeriod` (its last
    /// period, or it was revoked in this one): too late to extend it or move a slot; do it before its last period.
    error PolicyInLastPeriod(bytes16 policyId, uint256 endPeriod, uint256 currentPeriod);

    /// @notice The new end `newEndPeriod` of policy `policyId` is not after its end `endPeriod` (e.g. a retried
    /// extension that already went through).
    error EndPeriodNotLater(bytes16 policyId, uint256 endPeriod, uint256 newEndPeriod);

    /// @notice Slot `index` does not exist: the policy has `count` nodes.
    error SlotIndexOutOfRange(uint256 index, uint256 count);

    /// @notice The revocation signature expired at `deadline`.
    error RevokeSignatureExpired(uint256 deadline, uint256 timestamp);

    /// @notice The signature does not authorise revoking `policyId` on behalf of `owner` (wrong signer, or a replay).
    error InvalidRevokeSignature(bytes16 policyId, address owner);

    /// @notice Policy `policyId` has nothing to refund now.
    error NothingToRefund(bytes16 policyId);

    /// @notice `node` has no fees to withdraw.
    error NothingToWithdraw(address node);

    /// @notice `caller` is neither `node` nor its operator.
    error NotNodeOrOperator(address node, address caller);

    /// @notice The fee-rate range `[min, max]` is inverted or its maximum exceeds 96 bits.
    error InvalidFeeRateRange(uint256 min, uint256 max);

    /// @notice The minimum fee rate `minFeeRate` is not below 2^48 {FEE_UNIT}s (281,474 KMS per period).
    error MinFeeRateTooLarge(uint256 minFeeRate);

    /// @notice The escrow reported a commitment of `node` to `period`, not after its fee cursor `cursor`.
    error CommitNotAfterCursor(address node, uint256 period, uint256 cursor);

    /// @notice {syncNode} cannot move `node` to `target`: not after its cursor `cursor`, or a future period.
    error InvalidSyncTarget(address node, uint256 target, uint256 cursor);

    /// @notice The conditions version `given` for policy `policyId` is not above the version `held` (a replay, or
    /// a set older than the one committed).
    error StaleConditionsVersion(bytes16 policyId, uint64 given, uint64 held);

    /// @notice The signature does not authorise conditions version `version` of `policyId` for its owner `owner`.
    error InvalidConditionsSignature(bytes16 policyId, address owner, uint64 version);

    /// @notice {createPolicyWithConditions} was given the zero hash, which means "no conditions" (use {createPolicy}).
    error NoConditionsGiven(bytes16 policyId);

    // ----------------------------------------------------------------------------------------------------------
    // Policies
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Creates policy `policyId` for `owner`, served by `nodes` from the current period until `endPeriod`
    /// (exclusive), and takes the deposit `feeRate × (endPeriod − currentPeriod) × nodes.length` from the caller
    /// (approve first). Emits a {PolicyCreated} event.
    /// @dev Each node must have a bonded operator, a lock of positive value lasting at least until `endPeriod`
    /// and a minimum fee rate ≤ `feeRate`. `nodes` must be strictly ascending (duplicates are then found in one
    /// pass) and hold at most {MAX_NODES}. A node that already committed to the current or the next period is
    /// credited for those periods at once.
    /// @param policyId Unique id chosen by the client.
    /// @param owner Receives refunds and may revoke.
    /// @param nodes The serving stakers, strictly ascending, 1 to {MAX_NODES}.
    /// @param endPeriod First period not covered; after the current period.
    /// @param feeRate Fee per node per period, in wei, within {feeRateRange} and a multiple of {FEE_UNIT}.
    /// @return deposit The amount taken from the caller.
    function createPolicy(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate
    ) external returns (uint256 deposit);

    /// @notice {createPolicy} with an EIP-2612 permit of the caller instead of a prior approval, in one transaction.
    /// @dev A permit that fails (e.g. already used by a front-runner) is ignored; the transfer then needs the
    /// allowance it set.
    /// @param policyId Unique id chosen by the client.
    /// @param owner Receives refunds and may revoke.
    /// @param nodes The serving stakers, strictly ascending.
    /// @param endPeriod First period not covered.
    /// @param feeRate Fee per node per period, in wei.
    /// @param permit The caller's permit for this contract.
    /// @return deposit The amount taken from the caller.
    function createPolicyWithPermit(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate,
        PermitSignature calldata permit
    ) external returns (uint256 deposit);

    /// @notice Extends the policy to `newEndPeriod` (exclusive) with the same nodes and fee rate, and takes
    /// `feeRate × (newEndPeriod − endPeriod) × nodes.length` from the caller (approve first). Owner only.
    /// Emits a {PolicyExtended} event.
    /// @dev The added periods are sold as a new policy would be: the fee rate must be within {feeRateRange} and at
    /// least each node's current minimum, and each node must be bonded with a lock of positive value through
    /// `newEndPeriod` plus the escrow's `minOperatorPeriods`. The policy must have a period left after the next
    /// one (not ended, not revoked, not in its last period). Passing the new end rather than a number of added
    /// periods makes a replayed or retried call fail ({PolicyRecordMismatch} or {EndPeriodNotLater}) instead of
    /// paying twice.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @param newEndPeriod The new first period not covered; after the current end, within 32 bits.
    /// @return deposit The amount taken from the caller.
    function extendPolicy(
        bytes16 policyId,
        Policy calldata policy,
        uint256 newEndPeriod
    ) external returns (uint256 deposit);

    /// @notice {extendPolicy} with an EIP-2612 permit of the caller instead of a prior approval, in one transaction.
    /// @dev A permit that fails (e.g. already used by a front-runner) is ignored; the transfer then needs the
    /// allowance it set.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @param newEndPeriod The new first period not covered.
    /// @param permit The caller's permit for this contract.
    /// @return deposit The amount taken from the caller.
    function extendPolicyWithPermit(
        bytes16 policyId,
        Policy calldata policy,
        uint256 newEndPeriod,
        PermitSignature calldata permit
    ) external returns (uint256 deposit);

    /// @notice Hands slot `index` of the policy to `newNode` from the next period on. Owner only. Emits a
    /// {PolicySlotMoved} event, and a {PolicyRefunded} event when the settlement below pays anything.
    /// @dev Cut-over at `fromPeriod = current + 1`: the current period's commitment is final and stays with the
    /// old node; the old node's credit for `current + 1`, if it committed ahead, is taken back (it is still held,
    /// see {withdrawFees}), and the new node is credited for it at once if it committed ahead. The periods
    /// `[fromPeriod, endPeriod)` of the slot move to `newNode`, no token moves for them. First the missed periods
    /// of every slot through `fromPeriod` are settled and refunded to the owner (as {refund} would), so that
    /// later refunds only count the current nodes. `newNode` must not be in the policy, must be bonded with a
    /// lock through `endPeriod` plus `minOperatorPeriods` and accept the fee rate (its minimum); the policy must
    /// have a period left after the next one.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @param index The slot, `0 ≤ index < nodes.length`.
    /// @param newNode The staker taking the slot over.
    /// @return refunded The missed-period refund sent to the owner (0 if none).
    function moveSlot(
        bytes16 policyId,
        Policy calldata policy,
        uint256 index,
        address newNode
    ) external returns (uint256 refunded);

    /// @notice Revokes the policy: it ends after the current period, every later period is refunded to the owner
    /// and the nodes stop accruing for it, also for a next period they already committed to. Owner only.
    /// Emits a {PolicyRevoked} event.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @return refund The amount sent to the owner.
    function revokePolicy(bytes16 policyId, Policy calldata policy) external returns (uint256 refund);

    /// @notice {revokePolicy} by anyone holding the owner's EIP-712 signature of
    /// `Revoke(bytes16 policyId,uint256 nonce,uint256 deadline)` under the current {nonces} of the owner.
    /// ERC-1271 contract owners are supported. The nonce is consumed, so a signature works once.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The owner's signature.
    /// @return refund The amount sent to the owner.
    function revokePolicyWithSig(
        bytes16 policyId,
        Policy calldata policy,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 refund);

    /// @notice Refunds the owner `feeRate` for every node and settled period the node did not commit to, from
    /// `policy.refundedThrough` to the earlier of the policy's end and the end of the current period (a period's
    /// commitment is final once it has begun). Owner only. Emits a {PolicyRefunded} event.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @return refund The amount sent to the owner.
    function refund(bytes16 policyId, Policy calldata policy) external returns (uint256 refund);

    // ----------------------------------------------------------------------------------------------------------
    // Nodes
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Sends the caller (a staker) its withdrawable fees. Emits a {FeesWithdrawn} event.
    /// @dev The credit for a next period the node committed to stays until that period begins: a revocation
    /// may still take it back.
    /// @return amount The amount sent.
    function withdrawFees() external returns (uint256 amount);

    /// @notice Sets `node`'s minimum fee rate for new policies. Callable by the node or its operator.
    /// Emits a {MinFeeRateSet} event.
    /// @param node The staker.
    /// @param minFeeRate Minimum fee per period, in wei, a multiple of {FEE_UNIT}.
    function setMinFeeRate(address node, uint256 minFeeRate) external;

    /// @notice Applies `node`'s scheduled fee-rate decreases through `target` (≤ the current period) without a
    /// commitment. Anyone may call it; it is needed only when a node with live policies was inactive for so long
    /// that the catch-up in its next commitment (one slot read per missed period) would not fit a block.
    /// @param node The staker.
    /// @param target Period to move the cursor to.
    function syncNode(address node, uint256 target) external;

    // ----------------------------------------------------------------------------------------------------------
    // Owner
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Sets the range of fee rates new policies may use. Owner only. Emits a {FeeRateRangeSet} event.
    /// @param min Lowest fee rate, in wei.
    /// @param max Highest fee rate, in wei (≤ 2^96 − 1).
    function setFeeRateRange(uint256 min, uint256 max) external;

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Largest node list of one policy.
    /// @return The bound.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_NODES() external view returns (uint256);

    /// @notice Granularity of fee rates (10^9 wei): node amounts are stored in these units.
    /// @return The unit, in wei.
    // solhint-disable-next-line func-name-mixedcase
    function FEE_UNIT() external view returns (uint256);

    /// @notice The staking escrow whose commitments credit fees.
    /// @return The escrow address.
    function escrow() external view returns (address);

    /// @notice The KMS token fees are paid in.
    /// @return The token address.
    function token() external view returns (address);

    /// @notice Length of a period in seconds, the escrow's.
    /// @return The period duration.
    function periodDuration() external view returns (uint256);

    /// @notice The current period.
    /// @return `block.timestamp / periodDuration`.
    function getCurrentPeriod() external view returns (uint256);

    /// @notice The allowed range of policy fee rates.
    /// @return min Lowest fee rate.
    /// @return max Highest fee rate.
    function feeRateRange() external view returns (uint256 min, uint256 max);

    /// @notice `node`'s minimum fee rate.
    /// @param node The staker.
    /// @return The minimum fee rate, in wei.
    function minFeeRateOf(address node) external view returns (uint256);

    /// @notice The next nonce a revocation signature of `owner` must carry ({revokePolicyWithSig}).
    /// @param owner The policy owner.
    /// @return The nonce.
    function nonces(address owner) external view returns (uint256);

    /// @notice The commitment stored for `policyId`, 0 if none.
    /// @param policyId The policy.
    /// @return keccak256 of its current {Policy} record, see {hashPolicy}.
    function policyCommitment(bytes16 policyId) external view returns (bytes32);

    /// @notice The commitment of a policy record:
    /// `keccak256(abi.encode(owner, startPeriod, endPeriod, refundedThrough, feeRate, nodesHash))` with
    /// `nodesHash = keccak256(abi.encodePacked(nodes))` (each address left-padded to 32 bytes).
    /// @param policy The record.
    /// @return The commitment.
    function hashPolicy(Policy calldata policy) external pure returns (bytes32);

    /// @notice What {refund} would pay now.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @return amount The refundable amount, in wei.
    /// @return refundedThrough The new `refundedThrough` a refund would record.
    function refundable(
        bytes16 policyId,
        Policy calldata policy
    ) external view returns (uint256 amount, uint256 refundedThrough);

    /// @notice Fees `node` can withdraw now.
    /// @param node The staker.
    /// @return The amount, in wei.
    function pendingFees(address node) external view returns (uint256);

    /// @notice The seed's node income: mining reward not yet minted plus fees not yet withdrawn, withdrawable now.
    /// @param node The staker.
    /// @return The escrow's `pendingReward(node)` plus {pendingFees}.
    function pendingRewards(address node) external view returns (uint256);

    /// @notice The fee state of `node`.
    /// @param node The staker.
    /// @return info The state.
    function getNodeFees(address node) external view returns (NodeFees memory info);

    /// @notice The scheduled decrease of `node`'s fee rate at `period`.
    /// @param node The staker.
    /// @param period The period.
    /// @return The decrease, in wei per period.
    function rateDropAt(address node, uint256 period) external view returns (uint256);

    /// @notice Whether `node` committed to `period`.
    /// @param node The staker.
    /// @param period The period.
    /// @return True if it did.
    function hasCommitted(address node, uint256 period) external view returns (bool);

    // ----------------------------------------------------------------------------------------------------------
    // Access conditions (docs/conditions.md)
    // ----------------------------------------------------------------------------------------------------------

    /// @notice {createPolicy}, committing at once to version 1 of the owner's access conditions, so the policy
    /// never exists without them. Emits {PolicyCreated} and {ConditionsSet}.
    /// @dev The nodes still need the owner-signed set itself (sent with each kfrag); they check it hashes to
    /// `conditionsHash`. Anyone paying may commit the hash: without the owner's signature on a matching set,
    /// a node accepts no kfrag for the policy, so a wrong hash only makes the policy unusable for its payer.
    /// @param policyId Unique id chosen by the client.
    /// @param owner Receives refunds and may revoke.
    /// @param nodes The serving stakers, strictly ascending, 1 to {MAX_NODES}.
    /// @param endPeriod First period not covered; after the current period.
    /// @param feeRate Fee per node per period, in wei.
    /// @param conditionsHash keccak256 of the condition set's canonical JSON; not zero.
    /// @return deposit The amount taken from the caller.
    function createPolicyWithConditions(
        bytes16 policyId,
        address owner,
        address[] calldata nodes,
        uint256 endPeriod,
        uint256 feeRate,
        bytes32 conditionsHash
    ) external returns (uint256 deposit);

    /// @notice Commits policy `policyId` to version `version` of its access conditions. Owner only; `version`
    /// must exceed the one held. Emits a {ConditionsSet} event.
    /// @param policyId The policy.
    /// @param policy Its current record (checked against the stored commitment; it names the owner).
    /// @param version The new version, above the current one.
    /// @param conditionsHash keccak256 of the set's canonical JSON; zero lifts every condition.
    function setConditions(bytes16 policyId, Policy calldata policy, uint64 version, bytes32 conditionsHash) external;

    /// @notice {setConditions} by anyone carrying the owner's EIP-712 signature of
    /// `PolicyConditions(bytes16 policyId,uint64 version,bytes32 conditionsHash)` in this contract's domain: the
    /// same signature the owner gives the nodes with the set. Emits a {ConditionsSet} event.
    /// @dev No nonce: the strictly increasing version makes a signature usable once. EIP-1271 owners are accepted.
    /// @param policyId The policy.
    /// @param policy Its current record.
    /// @param version The new version, above the current one.
    /// @param conditionsHash keccak256 of the set's canonical JSON; zero lifts every condition.
    /// @param signature The owner's signature.
    function setConditionsWithSig(
        bytes16 policyId,
        Policy calldata policy,
        uint64 version,
        bytes32 conditionsHash,
        bytes calldata signature
    ) external;

    /// @notice The access conditions policy `policyId` commits to.
    /// @param policyId The policy.
    /// @return version The current version, 0 if conditions were never set.
    /// @return conditionsHash keccak256 of the set's canonical JSON; zero: no conditions.
    function conditionsOf(bytes16 policyId) external view returns (uint64 version, bytes32 conditionsHash);
}
