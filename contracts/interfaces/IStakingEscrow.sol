// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IStakingEscrow
/// @notice Nodes lock KMS here, prove activity once per period through their operator key and earn mining
/// rewards from a reserve held by this contract: `reward_i(p) = locked_i(p) × issuance(p) / lockedPerPeriod(p)`.
/// @dev Periods: `period = block.timestamp / periodDuration`. A lock `(lockedValue, unlockPeriod)` means
/// `lockedValue` counts as locked in every period `p < unlockPeriod`. Each staker has one lock position and one
/// operator. For every committed period that is not yet minted, the staker's weight is its current
/// `lockedValue`: the contract mints fully past periods before any change of the lock, and applies every
/// change to the `lockedPerPeriod` entries of the periods still open (current and next), so the two stay equal.
interface IStakingEscrow {
    /// @notice Everything the escrow stores about one staker, as returned by {getStakerInfo}.
    /// @param operator The bonded operator, 0 if none.
    /// @param stake All tokens of the staker in the escrow (locked, unlocked and minted rewards).
    /// @param lockedValue The locked value; counts in every period before `unlockPeriod`.
    /// @param unlockPeriod First period in which `lockedValue` no longer counts.
    /// @param lastCommittedPeriod Latest period committed to, 0 if none is unminted.
    /// @param previousCommittedPeriod The committed period before it, 0 if none is unminted.
    /// @param operatorBondedPeriod Period of the last operator change, 0 if never bonded.
    struct StakerInfo {
        address operator;
        uint256 stake;
        uint256 lockedValue;
        uint256 unlockPeriod;
        uint256 lastCommittedPeriod;
        uint256 previousCommittedPeriod;
        uint256 operatorBondedPeriod;
        bool operatorConfirmed;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------------------

    /// @notice `funder` added `value` to the mining reserve.
    event ReserveFunded(address indexed funder, uint256 value);

    /// @notice `staker` deposited `value` into the escrow.
    event Deposited(address indexed staker, uint256 value);

    /// @notice `staker` locked `value` more; the lock is now `lockedValue` until `unlockPeriod`.
    event Locked(address indexed staker, uint256 value, uint256 lockedValue, uint256 unlockPeriod);

    /// @notice `staker` extended its lock by `periods`, to `unlockPeriod`.
    event Prolonged(address indexed staker, uint256 periods, uint256 unlockPeriod);

    /// @notice `staker` withdrew `value` of unlocked stake.
    event Withdrawn(address indexed staker, uint256 value);

    /// @notice `staker` bonded `operator` (0: unbonded) in `period`, replacing `previousOperator`.
    event OperatorBonded(
        address indexed staker,
        address indexed operator,
        address indexed previousOperator,
        uint256 period
    );

    /// @notice `operator` consented to serve `staker`'s node, in `period`: from now on it maps to `staker` for ever.
    event OperatorConfirmed(address indexed staker, address indexed operator, uint256 period);

    /// @notice `staker` committed to be active in `period` with `lockedValue` at stake, and the policy manager's
    /// hook credited it `feesCredited` (token wei) of policy fees for that period (0 without a policy served).
    event CommitmentMade(address indexed staker, uint256 indexed period, uint256 lockedValue, uint256 feesCredited);

    /// @notice The mining issuance of `period` was fixed at `issuance`, taken from the unallocated reserve.
    event IssuanceAllocated(uint256 indexed period, uint256 issuance);

    /// @notice The issuance of `period` went back to the unallocated reserve: slashing left no stake in it.
    event IssuanceReturned(uint256 indexed period, uint256 issuance);

    /// @notice `value` of mining reward was added to `staker`'s stake.
    event Minted(address indexed staker, uint256 value);

    /// @notice `staker` lost `penalty`, held until settled; `reward` of it is `reporter`'s ({settlePenalty});
    /// `offences` counts this one.
    event Slashed(address indexed staker, uint256 penalty, address indexed reporter, uint256 reward, uint256 offences);

    /// @notice A held `penalty` was settled: `reward` of it paid to `reporter`, the rest back to the mining reserve.
    event PenaltySettled(address indexed reporter, uint256 penalty, uint256 reward);

    /// @notice A cheating verdict with nothing to take was counted against `staker`: its `offences`-th offence.
    event OffenceRecorded(address indexed staker, uint256 offences);

    /// @notice The policy manager was set to `policyManager`.
    event PolicyManagerSet(address indexed policyManager);

    /// @notice The adjudicator was set to `adjudicator`.
    event AdjudicatorSet(address indexed adjudicator);

    // ----------------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------------

    /// @notice The constructor was given a period duration of zero.
    error ZeroPeriodDuration();

    /// @notice The constructor was given a minimum stake of zero or above the maximum.
    error InvalidStakeBounds(uint256 minStake, uint256 maxStake);

    /// @notice The constructor was given a minimum lock duration of zero or of 2^32 periods or more, or a
    /// minimum operator duration not below it.
    error InvalidLockPeriods(uint256 minLockPeriods, uint256 minOperatorPeriods);

    /// @notice The constructor was given an issuance rate of zero or of at least the whole reserve per period.
    error InvalidIssuanceRate(uint256 rate, uint256 denominator);

    /// @notice The token's supply does not fit the 96-bit amounts the escrow packs into storage.
    error TokenSupplyTooLarge(uint256 supply);

    /// @notice An amount of zero was given where a positive amount is required.
    error ZeroAmount();

    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    /// @notice `account` is the operator of `staker` and so cannot hold a stake of its own.
    error OperatorCannotStake(address account, address staker);

    /// @notice The lock would last `periods` periods from now; at least `minPeriods` are required.
    error LockTooShort(uint256 periods, uint256 minPeriods);

    /// @notice The lock would end in `period`, beyond what the escrow can represent.
    error PeriodOverflow(uint256 period);

    /// @notice The lock would be `lockedValue`, below the minimum stake `minStake`.
    error LockBelowMinimum(uint256 lockedValue, uint256 minStake);

    /// @notice The lock would be `lockedValue`, above the maximum stake `maxStake`.
    error LockAboveMaximum(uint256 lockedValue, uint256 maxStake);

    /// @notice `requested` was asked of the unlocked stake, but only `available` is unlocked.
    error InsufficientUnlocked(uint256 requested, uint256 available);

    /// @notice `staker` has no lock in the current period (its lock ended at `unlockPeriod`).
    error NoActiveLock(address staker, uint256 unlockPeriod);

    /// @notice `caller` is not the bonded operator of any staker.
    error NotOperator(address caller);

    /// @notice `staker`'s lock does not cover `period` (it ends at `unlockPeriod`), or is empty. A commitment
    /// needs the lock to cover the next period and the {minOperatorPeriods} after it.
    error NotLockedForPeriod(address staker, uint256 period, uint256 unlockPeriod);

    /// @notice `staker` already committed to `period`.
    error AlreadyCommitted(address staker, uint256 period);

    /// @notice `staker` has no reward to mint.
    error NothingToMint(address staker);

    /// @notice `operator` is, or was, bonded to another staker, `staker`.
    error OperatorAlreadyBonded(address operator, address staker);

    /// @notice `operator` holds a stake or unminted rewards, so it cannot be another staker's operator.
    error OperatorIsStaker(address operator);

    /// @notice `operator` is already the staker's operator.
    error OperatorUnchanged(address operator);

    /// @notice `caller` is not the operator `staker` proposed (or `staker` proposed none).
    error NotProposedOperator(address caller, address staker);

    /// @notice `operator` already confirmed for `staker`.
    error OperatorAlreadyConfirmed(address operator, address staker);

    /// @notice The operator was changed too recently: the next change is allowed in `earliestPeriod`.
    error RebondTooSoon(uint256 earliestPeriod, uint256 currentPeriod);

    /// @notice The operator cannot change while the staker is committed to the future period `committedPeriod`.
    error RebondWhileCommitted(uint256 committedPeriod);

    /// @notice `caller` is not the adjudicator.
    error NotAdjudicator(address caller);

    /// @notice The reporter's `reward` exceeds the `penalty` it is paid from.
    error RewardExceedsPenalty(uint256 reward, uint256 penalty);

    /// @notice The adjudicator settles a `penalty` larger than the `held` penalties.
    error PenaltyExceedsHeld(uint256 penalty, uint256 held);

    /// @notice The policy manager is already set to `policyManager`.
    error PolicyManagerAlreadySet(address policyManager);

    /// @notice The adjudicator is already set to `adjudicator`.
    error AdjudicatorAlreadySet(address adjudicator);

    // ----------------------------------------------------------------------------------------------------------
    // Configuration
    // ----------------------------------------------------------------------------------------------------------

    /// @notice The KMS token staked and paid out.
    /// @return The token.
    function token() external view returns (IERC20);

    /// @notice Length of a period in seconds.
    /// @return The period duration.
    function periodDuration() external view returns (uint256);

    /// @notice Smallest lock a staker may hold, in wei.
    /// @return The minimum stake.
    function minStake() external view returns (uint256);

    /// @notice Largest lock a staker may hold, in wei.
    /// @return The maximum stake.
    function maxStake() external view returns (uint256);

    /// @notice Fewest periods a lock must still last after it is created or grown.
    /// @return The minimum lock duration in periods.
    function minLockPeriods() external view returns (uint256);

    /// @notice Fewest periods between two operator changes of one staker. Also the accountability window: a
    /// lock must outlast every committed period by this many periods.
    /// @return The minimum operator bonding duration in periods.
    function minOperatorPeriods() external view returns (uint256);

    /// @notice Share of the unallocated reserve issued per period, over {ISSUANCE_RATE_DENOMINATOR}.
    /// @return The per-period issuance rate.
    function issuanceRate() external view returns (uint256);

    /// @notice Denominator of {issuanceRate} (10^18).
    /// @return The denominator.
    function ISSUANCE_RATE_DENOMINATOR() external view returns (uint256);

    /// @notice The policy manager told of every commitment, 0 until set.
    /// @return The policy manager.
    function policyManager() external view returns (address);

    /// @notice The only address allowed to {slash}, 0 until set.
    /// @return The adjudicator.
    function adjudicator() external view returns (address);

    /// @notice Sets the policy manager. Owner only, once. Emits a {PolicyManagerSet} event.
    /// @param policyManager_ The policy manager; receives `onCommit` on every commitment.
    function setPolicyManager(address policyManager_) external;

    /// @notice Sets the adjudicator. Owner only, once. Emits an {AdjudicatorSet} event.
    /// @param adjudicator_ The adjudicator; the only caller of {slash}.
    function setAdjudicator(address adjudicator_) external;

    // ----------------------------------------------------------------------------------------------------------
    // Reserve
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Moves `value` from the caller into the mining reserve (approve first). Emits {ReserveFunded}.
    /// @param value Amount in wei.
    function fundReserve(uint256 value) external;

    /// @notice Part of the mining reserve not yet allocated to any period.
    /// @return The unallocated reserve in wei.
    function unallocatedReserve() external view returns (uint256);

    // ----------------------------------------------------------------------------------------------------------
    // Staking
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Deposits `value` (approve first) as unlocked stake. Emits a {Deposited} event.
    /// @param value Amount in wei.
    function deposit(uint256 value) external;

    /// @notice {deposit} with an EIP-2612 permit instead of a prior approval.
    /// @dev A permit already used (e.g. front-run) is ignored; the transfer then needs the allowance it set.
    /// @param value Amount in wei.
    /// @param deadline Permit deadline.
    /// @param v Permit signature.
    /// @param r Permit signature.
    /// @param s Permit signature.
    function depositWithPermit(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Deposits `value` (approve first) and locks it as {lock} would. Emits {Deposited} and {Locked}.
    /// @param value Amount in wei.
    /// @param periods The lock lasts at least this many periods from now.
    function depositAndLock(uint256 value, uint256 periods) external;

    /// @notice {depositAndLock} with an EIP-2612 permit instead of a prior approval.
    /// @param value Amount in wei.
    /// @param periods The lock lasts at least this many periods from now.
    /// @param deadline Permit deadline.
    /// @param v Permit signature.
    /// @param r Permit signature.
    /// @param s Permit signature.
    function depositAndLockWithPermit(
        uint256 value,
        uint256 periods,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Locks `value` more of the caller's unlocked stake, until `max(unlockPeriod, current + periods)`.
    /// @dev An expired lock starts over from zero. The result must last at least {minLockPeriods} from now and
    /// lie within [{minStake}, {maxStake}]. Mints past rewards first; the added value also counts in the
    /// current and next periods the staker already committed to. Emits a {Locked} event.
    /// @param value Amount in wei, > 0.
    /// @param periods The lock lasts at least this many periods from now (0 keeps the current end).
    function lock(uint256 value, uint256 periods) external;

    /// @notice Extends the caller's active lock by `periods`. Emits a {Prolonged} event.
    /// @param periods Periods to add, > 0.
    function prolong(uint256 periods) external;

    /// @notice Withdraws `value` of the caller's unlocked stake (deposits and minted rewards).
    /// Emits a {Withdrawn} event.
    /// @param value Amount in wei, > 0.
    function withdraw(uint256 value) external;

    /// @notice Proposes `operator` (0 to unbond) as the caller's node key; the operator must accept it with
    /// {confirmOperator} before it counts. Emits an {OperatorBonded} event.
    /// @dev The caller needs an active lock of at least {minStake}. A proposal replaces the current operator at
    /// once (an unbonded node cannot commit until the new key confirms). An address the caller's node used before
    /// (or the caller itself) needs no confirmation; the caller as its own operator also emits {OperatorConfirmed}.
    /// An unconfirmed proposal maps nothing and blocks nothing: the address may still stake or accept another
    /// staker. A change away from a confirmed operator needs {minOperatorPeriods} since it was bonded, and never
    /// while the node is committed to a future period.
    /// @param operator The operator address.
    function bondOperator(address operator) external;

    /// @notice Called by an operator key: accepts `staker`'s proposal ({bondOperator}). From then on the key
    /// maps to `staker` for ever ({stakerFromOperator}), may commit, announce and be slashed for what it signs.
    /// Emits an {OperatorConfirmed} event.
    /// @dev Reverts unless `staker`'s current proposal is the caller, the caller was never bonded to another
    /// staker and holds no stake.
    /// @param staker The staker that proposed the caller.
    function confirmOperator(address staker) external;

    /// @notice Called by an operator: commits its staker to be active in the next period, after minting the
    /// rewards of its fully past committed periods. Emits {CommitmentMade} (and {Minted}, {IssuanceAllocated}).
    /// @dev Needs a non-empty lock with `unlockPeriod > nextPeriod + minOperatorPeriods`. Then calls
    /// `IPolicyCommitHook(policyManager).onCommit(staker, nextPeriod)` if a manager is set.
    function commitToNextPeriod() external;

    /// @notice {commitToNextPeriod} for a caller that names its staker: the same checks and effects, without
    /// looking the staker up in {stakerFromOperator} (a cold slot, ~2.2k gas). Reverts with {NotOperator} unless
    /// the caller is `staker`'s confirmed operator. Nodes use this one.
    /// @param staker The staker whose confirmed operator the caller is.
    function commitToNextPeriodFor(address staker) external;

    /// @notice Adds the caller's reward for its fully past committed periods to its stake. Emits {Minted}.
    function mint() external;

    /// @notice Takes `penalty` (capped at the stake, unlocked tokens first) from `staker` and holds it in
    /// {heldPenalties} until the adjudicator settles it ({settlePenalty}). Adjudicator only; moves no tokens.
    /// @dev Mints the staker's past rewards first, then lowers its lock and the `lockedPerPeriod` entries of
    /// its open committed periods by the same amount, and counts one offence in {offencesOf} (the counter lives
    /// in the staker's record, a slot this call writes anyway). Emits a {Slashed} event.
    /// @param staker The staker to slash.
    /// @param penalty Amount to take, in wei.
    /// @param reporter Will receive `reward` (named in the event).
    /// @param reward Reporter's share of the penalty, in wei (≤ `penalty`).
    function slash(address staker, uint256 penalty, address reporter, uint256 reward) external;

    /// @notice Settles `penalty` of the held penalties: pays `reward` of it to `reporter` and returns the rest to
    /// the unallocated reserve. Adjudicator only (its {IAdjudicator-claimReward}). Emits {PenaltySettled}.
    /// @param reporter Receives `reward`.
    /// @param penalty Held amount to settle, in wei (≤ {heldPenalties}).
    /// @param reward Reporter's share, in wei (≤ `penalty`).
    function settlePenalty(address reporter, uint256 penalty, uint256 reward) external;

    /// @notice Penalties taken by {slash} and not yet settled: part of the escrow's balance, outside the reserve.
    /// @return The held amount in wei.
    function heldPenalties() external view returns (uint256);

    /// @notice Counts one offence against `staker` without taking anything: the adjudicator's verdict for a
    /// cheat whose penalty is zero (nothing left to take). Adjudicator only. Emits an {OffenceRecorded} event.
    /// @param staker The staker the verdict is against.
    function recordOffence(address staker) external;

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @notice The current period, `block.timestamp / periodDuration`.
    /// @return The current period.
    function getCurrentPeriod() external view returns (uint256);

    /// @notice The staker `operator` confirmed for. The mapping is permanent: an operator address once confirmed
    /// for a staker can never serve another, so evidence signed by an old operator key still maps to its staker.
    /// @param operator The operator address.
    /// @return The staker, 0 if never bonded.
    function stakerFromOperator(address operator) external view returns (address);

    /// @notice The current, confirmed operator of `staker`: the key that commits, announces and serves.
    /// @param staker The staker.
    /// @return The operator, 0 if none or if the current proposal is not confirmed yet.
    function operatorOf(address staker) external view returns (address);

    /// @notice The operator `staker` proposed that has not confirmed yet.
    /// @param staker The staker.
    /// @return The proposed operator, 0 if none is pending.
    function pendingOperatorOf(address staker) external view returns (address);

    /// @notice The lock of `staker`: `lockedValue` counts as locked in every period `p < unlockPeriod`.
    /// @param staker The staker.
    /// @return lockedValue Locked amount in wei.
    /// @return unlockPeriod First period in which it no longer counts.
    function getLock(address staker) external view returns (uint256 lockedValue, uint256 unlockPeriod);

    /// @notice All tokens `staker` has in the escrow: locked, unlocked and already minted rewards.
    /// @param staker The staker.
    /// @return The stake in wei.
    function stakeOf(address staker) external view returns (uint256);

    /// @notice How many offences the adjudicator counted against `staker` ({slash} and {recordOffence} calls).
    /// @param staker The staker.
    /// @return The number of offences.
    function offencesOf(address staker) external view returns (uint256);

    /// @notice What the adjudicator needs to size a penalty, in one call: {stakeOf} and {offencesOf}.
    /// @param staker The staker.
    /// @return stake All tokens `staker` has in the escrow, in wei.
    /// @return offences Offences counted so far.
    function slashingStateOf(address staker) external view returns (uint256 stake, uint256 offences);

    /// @notice Mining reward not yet minted for the staker's fully past committed periods.
    /// @param staker The staker.
    /// @return The pending reward in wei.
    function pendingReward(address staker) external view returns (uint256);

    /// @notice The two latest committed periods of `staker` not yet minted (0 where none).
    /// @param staker The staker.
    /// @return previous The earlier one.
    /// @return last The latest one.
    function getCommittedPeriods(address staker) external view returns (uint256 previous, uint256 last);

    /// @notice Everything stored about `staker`.
    /// @param staker The staker.
    /// @return info The staker's record.
    function getStakerInfo(address staker) external view returns (StakerInfo memory info);

    /// @notice What a node sampler needs of each of `stakers`, read in one call for a whole page of nodes (two
    /// storage slots per staker, no struct): the confirmed operator, the lock and the latest commitment.
    /// @dev Packed, 40 bytes per staker, in the order given: confirmed operator, 0 if none (20) ‖ lockedValue (12) ‖
    /// unlockPeriod (4) ‖ lastCommittedPeriod (4), integers big-endian. A staker that never staked reads as zeros.
    /// @param stakers The stakers to read.
    /// @return states 40 bytes per staker.
    function samplingStates(address[] calldata stakers) external view returns (bytes memory states);

    /// @notice Total locked value committed to `period`.
    /// @param period The period.
    /// @return The sum of the committed stakers' locked values.
    function lockedPerPeriod(uint256 period) external view returns (uint256);

    /// @notice Mining issuance allocated to `period` (0 until the first commitment to it).
    /// @param period The period.
    /// @return The issuance in wei.
    function issuanceOf(uint256 period) external view returns (uint256);
}
