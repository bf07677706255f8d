// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStakingEscrow} from "../interfaces/IStakingEscrow.sol";
import {IPolicyCommitHook} from "../interfaces/IPolicyCommitHook.sol";

/// @title StakingEscrow
/// @notice Holds the stakes of re-encryption nodes and the mining reserve. A staker deposits KMS, locks part of
/// it for some periods and bonds an operator (the node's hot key); the operator commits once per period to be
/// active in the next one, and each committed period, once past, pays
/// `locked_i(p) × issuance(p) / lockedPerPeriod(p)` from the reserve.
/// @dev Design notes (lock model, schedule, rounding, re-bonding, gas) are in docs/staking.md.
///
/// Invariant that keeps minting O(1): for each of the (at most two) committed periods of a staker not yet minted,
/// the staker's weight is its current `lockedValue`, and that value is included in `lockedPerPeriod` of the
/// period. Every change of `lockedValue` first mints the fully past periods and then applies the same change to
/// the entries of the still open periods (current and next), so no other staker's share moves.
contract StakingEscrow is IStakingEscrow, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Two slots. Commit reads the first (operator check, weight) and rewrites only the second, where
    /// the minted reward lands next to the commitment bookkeeping, so commit+mint writes one staker slot.
    /// Amounts are uint96: each is at most the token's supply, which the constructor checks fits 96 bits.
    /// Periods are uint32: a period at 1-day resolution overflows in 11 million years, and every stored period
    /// is below an unlock period that was checked against 2^32 - 1 when it was set. The adjudicator's offence
    /// counter fills the second slot: a slash writes that slot anyway, so counting costs no new storage slot. Its
    /// 24 bits (16.7 million offences, each a transaction of ~150k gas) leave room for `operatorConfirmed`, which
    /// mirrors `stakerFromOperator[operator] == staker`: a policy's node check reads it in the slot `getLock` reads
    /// next, instead of a cold mapping slot (2.1k gas per node and policy).
    struct Staker {
        address operator;
        uint96 lockedValue;
        uint96 stake;
        uint32 unlockPeriod;
        uint32 lastCommittedPeriod;
        uint32 previousCommittedPeriod;
        uint32 operatorBondedPeriod;
        uint24 offences;
        bool operatorConfirmed;
    }

    /// @dev Sum of committed locks and the issuance of one period, one slot: both are at most the token supply.
    struct Period {
        uint128 locked;
        uint128 issuance;
    }

    /// @inheritdoc IStakingEscrow
    uint256 public constant ISSUANCE_RATE_DENOMINATOR = 1e18;

    // The interface's getters (`token()`, `periodDuration()`, ...) fix these names; SNAKE_CASE would break it.
    // solhint-disable immutable-vars-naming
    /// @inheritdoc IStakingEscrow
    IERC20 public immutable token;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable periodDuration;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable minStake;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable maxStake;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable minLockPeriods;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable minOperatorPeriods;
    /// @inheritdoc IStakingEscrow
    uint256 public immutable issuanceRate;
    // solhint-enable immutable-vars-naming

    /// @inheritdoc IStakingEscrow
    address public policyManager;
    /// @dev Packed with `policyManager`: a commit that allocates a period's issuance reads both in one slot.
    uint96 private _unallocatedReserve;
    /// @inheritdoc IStakingEscrow
    address public adjudicator;
    /// @dev Packed with `adjudicator`: penalties taken by {slash} and not yet settled ({settlePenalty}). A slash
    /// reads this slot for its caller check, so holding the penalty here costs one warm write, where paying the
    /// reporter and the reserve at once cost a token transfer and the reserve slot (~18k to 35k gas).
    uint96 private _heldPenalties;

    /// @inheritdoc IStakingEscrow
    mapping(address operator => address staker) public stakerFromOperator;
    mapping(address staker => Staker) private _stakers;
    mapping(uint256 period => Period) private _periods;

    /// @param token_ The KMS token; its supply must fit 96 bits.
    /// @param periodDuration_ Seconds per period (> 0).
    /// @param minStake_ Smallest lock (> 0).
    /// @param maxStake_ Largest lock (≥ `minStake_`).
    /// @param minLockPeriods_ Fewest periods a new or grown lock must last (0 < value < 2^32).
    /// @param minOperatorPeriods_ Fewest periods between two operator changes; also how many periods a lock
    /// must outlast each committed period (< `minLockPeriods_`).
    /// @param issuanceRate_ Share of the unallocated reserve issued per period, over 10^18 (0 < rate < 10^18).
    /// @param owner_ May set the policy manager and the adjudicator, once each.
    constructor(
        IERC20 token_,
        uint256 periodDuration_,
        uint256 minStake_,
        uint256 maxStake_,
        uint256 minLockPeriods_,
        uint256 minOperatorPeriods_,
        uint256 issuanceRate_,
        address owner_
    ) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        if (periodDuration_ == 0) revert ZeroPeriodDuration();
        if (minStake_ == 0 || minStake_ > maxStake_) revert InvalidStakeBounds(minStake_, maxStake_);
        if (minLockPeriods_ == 0 || minLockPeriods_ > type(uint32).max || minOperatorPeriods_ >= minLockPeriods_) {
            revert InvalidLockPeriods(minLockPeriods_, minOperatorPeriods_);
        }
        if (issuanceRate_ == 0 || issuanceRate_ >= ISSUANCE_RATE_DENOMINATOR) {
            revert InvalidIssuanceRate(issuanceRate_, ISSUANCE_RATE_DENOMINATOR);
        }
        uint256 supply = token_.totalSupply();
        if (supply > type(uint96).max) revert TokenSupplyTooLarge(supply);
        token = token_;
        periodDuration = periodDuration_;
        minStake = minStake_;
        maxStake = maxStake_;
        minLockPeriods = minLockPeriods_;
        minOperatorPeriods = minOperatorPeriods_;
        issuanceRate = issuanceRate_;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Configuration
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStakingEscrow
    function setPolicyManager(address policyManager_) external onlyOwner {
        if (policyManager_ == address(0)) revert ZeroAddress();
        if (policyManager != address(0)) revert PolicyManagerAlreadySet(policyManager);
        policyManager = policyManager_;
        emit PolicyManagerSet(policyManager_);
    }

    /// @inheritdoc IStakingEscrow
    function setAdjudicator(address adjudicator_) external onlyOwner {
        if (adjudicator_ == address(0)) revert ZeroAddress();
        if (adjudicator != address(0)) revert AdjudicatorAlreadySet(adjudicator);
        adjudicator = adjudicator_;
        emit AdjudicatorSet(adjudicator_);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Reserve
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStakingEscrow
    function fundReserve(uint256 value) external {
        if (value == 0) revert ZeroAmount();
        // Fits: the reserve is part of the escrow's balance, at most the token supply (< 2^96).
        _unallocatedReserve = uint96(_unallocatedReserve + value);
        emit ReserveFunded(msg.sender, value);
        token.safeTransferFrom(msg.sender, address(this), value);
    }

    /// @inheritdoc IStakingEscrow
    function unallocatedReserve() external view returns (uint256) {
        return _unallocatedReserve;
    }

    /// @inheritdoc IStakingEscrow
    function heldPenalties() external view returns (uint256) {
        return _heldPenalties;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Staking
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStakingEscrow
    function deposit(uint256 value) external {
        _deposit(value);
    }

    /// @inheritdoc IStakingEscrow
    function depositWithPermit(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        _permit(value, deadline, v, r, s);
        _deposit(value);
    }

    /// @inheritdoc IStakingEscrow
    function depositAndLock(uint256 value, uint256 periods) external {
        _deposit(value);
        _lock(msg.sender, value, periods);
    }

    /// @inheritdoc IStakingEscrow
    function depositAndLockWithPermit(
        uint256 value,
        uint256 periods,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _permit(value, deadline, v, r, s);
        _deposit(value);
        _lock(msg.sender, value, periods);
    }

    /// @inheritdoc IStakingEscrow
    function lock(uint256 value, uint256 periods) external {
        _lock(msg.sender, value, periods);
    }

    /// @inheritdoc IStakingEscrow
    function prolong(uint256 periods) external {
        if (periods == 0) revert ZeroAmount();
        Staker storage info = _stakers[msg.sender];
        uint256 unlockPeriod = info.unlockPeriod;
        if (info.lockedValue == 0 || _currentPeriod() >= unlockPeriod) revert NoActiveLock(msg.sender, unlockPeriod);
        if (periods > type(uint32).max - unlockPeriod) revert PeriodOverflow(periods);
        // Cannot overflow uint32: checked just above.
        unlockPeriod += periods;
        info.unlockPeriod = uint32(unlockPeriod);
        emit Prolonged(msg.sender, periods, unlockPeriod);
    }

    /// @inheritdoc IStakingEscrow
    function withdraw(uint256 value) external nonReentrant {
        if (value == 0) revert ZeroAmount();
        Staker storage info = _stakers[msg.sender];
        uint256 stake = info.stake;
        uint256 available = stake - _activeLock(info, _currentPeriod());
        if (value > available) revert InsufficientUnlocked(value, available);
        // Fits: smaller than the stored stake.
        info.stake = uint96(stake - value);
        emit Withdrawn(msg.sender, value);
        token.safeTransfer(msg.sender, value);
    }

    /// @inheritdoc IStakingEscrow
    function bondOperator(address operator) external {
        Staker storage info = _stakers[msg.sender];
        uint256 current = _currentPeriod();
        if (_activeLock(info, current) < minStake) revert NoActiveLock(msg.sender, info.unlockPeriod);
        address previous = info.operator;
        if (operator == previous) revert OperatorUnchanged(operator);
        uint256 bondedPeriod = info.operatorBondedPeriod;
        // A staker could otherwise hop between operator keys faster than misbehaviour is reported. A proposal
        // that was never confirmed served nothing, so replacing it is not a hop.
        if (bondedPeriod != 0 && info.operatorConfirmed && current < bondedPeriod + minOperatorPeriods) {
            revert RebondTooSoon(bondedPeriod + minOperatorPeriods, current);
        }
        // The operator that committed to a period is the node that serves it; no swap under a promise.
        uint256 last = info.lastCommittedPeriod;
        if (last > current) revert RebondWhileCommitted(last);
        // Whether the new operator needs no confirmation (its consent is already given); false for the zero address.
        bool confirmed;
        if (operator != address(0)) {
            address owner_ = stakerFromOperator[operator];
            if (owner_ == msg.sender) {
                // Back to a key this staker's node used before: it consented then, and the bond is permanent.
                confirmed = true;
            } else if (owner_ != address(0)) {
                revert OperatorAlreadyBonded(operator, owner_);
            } else if (operator == msg.sender) {
                // The staker runs its own node: its own transaction is the operator's consent.
                stakerFromOperator[operator] = msg.sender;
                confirmed = true;
                emit OperatorConfirmed(msg.sender, operator, current);
            } else {
                // A staker, even one left only with unminted rewards, cannot become another staker's operator.
                _requireNotStaker(operator);
            }
        }
        info.operator = operator;
        info.operatorConfirmed = confirmed;
        // Fits: `current` < the active lock's unlockPeriod, a uint32.
        info.operatorBondedPeriod = uint32(current);
        emit OperatorBonded(msg.sender, operator, previous, current);
    }

    /// @inheritdoc IStakingEscrow
    function confirmOperator(address staker) external {
        Staker storage info = _stakers[staker];
        if (info.operator != msg.sender) revert NotProposedOperator(msg.sender, staker);
        address owner_ = stakerFromOperator[msg.sender];
        if (owner_ == staker) revert OperatorAlreadyConfirmed(msg.sender, staker);
        if (owner_ != address(0)) revert OperatorAlreadyBonded(msg.sender, owner_);
        _requireNotStaker(msg.sender);
        uint256 current = _currentPeriod();
        if (current > type(uint32).max) revert PeriodOverflow(current);
        stakerFromOperator[msg.sender] = staker;
        info.operatorConfirmed = true;
        // The bond starts to count now: the re-bond delay runs from here.
        info.operatorBondedPeriod = uint32(current);
        emit OperatorConfirmed(staker, msg.sender, current);
    }

    /// @inheritdoc IStakingEscrow
    function commitToNextPeriod() external {
        // The map is permanent (a key stays its staker's for ever); {_commit} checks the key is the current one.
        _commit(stakerFromOperator[msg.sender]);
    }

    /// @inheritdoc IStakingEscrow
    function commitToNextPeriodFor(address staker) external {
        _commit(staker);
    }

    /// @inheritdoc IStakingEscrow
    function mint() external {
        if (_settle(msg.sender, _stakers[msg.sender], _currentPeriod()) == 0) revert NothingToMint(msg.sender);
    }

    /// @inheritdoc IStakingEscrow
    /// @dev Makes no external call; the guard still refuses a slash from inside a payout ({settlePenalty}), so no
    /// judgement ever runs while tokens leave the escrow.
    function slash(address staker, uint256 penalty, address reporter, uint256 reward) external nonReentrant {
        // The adjudicator slot, where the held penalties live too (adjudicator 0–159, held 160–255), read once.
        uint256 adjudicatorWord;
        assembly ("memory-safe") {
            adjudicatorWord := sload(adjudicator.slot)
        }
        if (msg.sender != address(uint160(adjudicatorWord))) revert NotAdjudicator(msg.sender);
        if (reward > penalty) revert RewardExceedsPenalty(reward, penalty);
        if (reward != 0 && reporter == address(0)) revert ZeroAddress();
        uint256 offences;
        (penalty, offences) = _takePenalty(staker, penalty);
        if (reward > penalty) reward = penalty;
        // Fits: the held penalties plus a part of a stake are inside the escrow's balance (< 2^96).
        adjudicatorWord += penalty << 160;
        assembly ("memory-safe") {
            sstore(adjudicator.slot, adjudicatorWord)
        }
        emit Slashed(staker, penalty, reporter, reward, offences);
    }

    /// @inheritdoc IStakingEscrow
    function settlePenalty(address reporter, uint256 penalty, uint256 reward) external nonReentrant {
        if (msg.sender != adjudicator) revert NotAdjudicator(msg.sender);
        if (reward > penalty) revert RewardExceedsPenalty(reward, penalty);
        if (reward != 0 && reporter == address(0)) revert ZeroAddress();
        uint256 held = _heldPenalties;
        if (penalty > held) revert PenaltyExceedsHeld(penalty, held);
        // Fits: smaller than the stored value.
        _heldPenalties = uint96(held - penalty);
        // Fits: the reserve plus a held penalty is inside the escrow's balance (< 2^96).
        _unallocatedReserve = uint96(_unallocatedReserve + (penalty - reward));
        emit PenaltySettled(reporter, penalty, reward);
        if (reward != 0) token.safeTransfer(reporter, reward);
    }

    /// @inheritdoc IStakingEscrow
    function recordOffence(address staker) external {
        if (msg.sender != adjudicator) revert NotAdjudicator(msg.sender);
        Staker storage info = _stakers[staker];
        // Checked, as in {slash}.
        uint256 offences = _countOffence(info);
        emit OffenceRecorded(staker, offences);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStakingEscrow
    function getCurrentPeriod() external view returns (uint256) {
        return _currentPeriod();
    }

    /// @inheritdoc IStakingEscrow
    function operatorOf(address staker) external view returns (address) {
        Staker storage info = _stakers[staker];
        return info.operatorConfirmed ? info.operator : address(0);
    }

    /// @inheritdoc IStakingEscrow
    function pendingOperatorOf(address staker) external view returns (address) {
        Staker storage info = _stakers[staker];
        return info.operatorConfirmed ? address(0) : info.operator;
    }

    /// @inheritdoc IStakingEscrow
    function getLock(address staker) external view returns (uint256 lockedValue, uint256 unlockPeriod) {
        Staker storage info = _stakers[staker];
        return (info.lockedValue, info.unlockPeriod);
    }

    /// @inheritdoc IStakingEscrow
    function stakeOf(address staker) external view returns (uint256) {
        return _stakers[staker].stake;
    }

    /// @inheritdoc IStakingEscrow
    function offencesOf(address staker) external view returns (uint256) {
        return _stakers[staker].offences;
    }

    /// @inheritdoc IStakingEscrow
    function slashingStateOf(address staker) external view returns (uint256 stake, uint256 offences) {
        Staker storage info = _stakers[staker];
        return (info.stake, info.offences);
    }

    /// @inheritdoc IStakingEscrow
    function pendingReward(address staker) external view returns (uint256 reward) {
        Staker storage info = _stakers[staker];
        uint256 current = _currentPeriod();
        uint256 lockedValue = info.lockedValue;
        uint256 previous = info.previousCommittedPeriod;
        uint256 last = info.lastCommittedPeriod;
        if (previous != 0 && previous < current) reward = _periodReward(previous, lockedValue);
        if (last != 0 && last < current) reward += _periodReward(last, lockedValue);
    }

    /// @inheritdoc IStakingEscrow
    function getCommittedPeriods(address staker) external view returns (uint256 previous, uint256 last) {
        Staker storage info = _stakers[staker];
        return (info.previousCommittedPeriod, info.lastCommittedPeriod);
    }

    /// @inheritdoc IStakingEscrow
    function getStakerInfo(address staker) external view returns (StakerInfo memory) {
        Staker memory info = _stakers[staker];
        return
            StakerInfo({
                operator: info.operator,
                stake: info.stake,
                lockedValue: info.lockedValue,
                unlockPeriod: info.unlockPeriod,
                lastCommittedPeriod: info.lastCommittedPeriod,
                previousCommittedPeriod: info.previousCommittedPeriod,
                operatorBondedPeriod: info.operatorBondedPeriod,
                operatorConfirmed: info.operatorConfirmed
            });
    }

    /// @inheritdoc IStakingEscrow
    function samplingStates(address[] calldata stakers) external view returns (bytes memory states) {
        uint256 count = stakers.length;
        // 24 bytes of slack: each entry is written as two words, the second one 24 bytes past the entry.
        states = new bytes(count * 40 + 24);
        for (uint256 i; i < count; ++i) {
            Staker storage info = _stakers[stakers[i]];
            // Two slots: operator and lockedValue share the first, the periods and the flag the second.
            uint256 head =
                (uint256(uint160(info.operatorConfirmed ? info.operator : address(0))) << 96) | info.lockedValue;
            uint256 tail = (uint256(info.unlockPeriod) << 224) | (uint256(info.lastCommittedPeriod) << 192);
            assembly ("memory-safe") {
                let at := add(add(states, 0x20), mul(i, 40))
                mstore(at, head)
                mstore(add(at, 0x20), tail)
            }
        }
        assembly ("memory-safe") {
            mstore(states, mul(count, 40)) // 40 bytes per staker: drop the slack
        }
    }

    /// @inheritdoc IStakingEscrow
    function lockedPerPeriod(uint256 period) external view returns (uint256) {
        return _periods[period].locked;
    }

    /// @inheritdoc IStakingEscrow
    function issuanceOf(uint256 period) external view returns (uint256) {
        return _periods[period].issuance;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------------------

    function _currentPeriod() private view returns (uint256) {
        return block.timestamp / periodDuration;
    }

    /// @dev Counts one offence, saturating at 2^24 − 1 (each offence is a judged evidence of > 100k gas, so the cap
    /// is never reached; saturating, never reverting, so that a count can never stop a slash).
    function _countOffence(Staker storage info) private returns (uint256 offences) {
        offences = info.offences;
        if (offences < type(uint24).max) info.offences = uint24(++offences);
    }

    /// @dev Reverts with {OperatorIsStaker} if `account` holds a stake or ever committed as a staker.
    function _requireNotStaker(address account) private view {
        Staker storage other = _stakers[account];
        if (other.stake != 0 || other.lastCommittedPeriod != 0) revert OperatorIsStaker(account);
    }

    /// @dev The lock that counts in `current`: the locked value while the lock lasts, else nothing.
    function _activeLock(Staker storage info, uint256 current) private view returns (uint256) {
        return current < info.unlockPeriod ? info.lockedValue : 0;
    }

    function _permit(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        // A front-run permit must not block the deposit: if it was already used, the allowance it set remains
        // and the transfer below succeeds; if not, the transfer fails on the missing allowance.
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(token)).permit(msg.sender, address(this), value, deadline, v, r, s) {} catch {}
    }

    function _deposit(uint256 value) private {
        if (value == 0) revert ZeroAmount();
        address staker = stakerFromOperator[msg.sender];
        // An operator key is a node's hot key for another stake; letting it stake would tangle slashing.
        if (staker != address(0) && staker != msg.sender) revert OperatorCannotStake(msg.sender, staker);
        Staker storage info = _stakers[msg.sender];
        // Fits: the stake is part of the escrow's balance, at most the token supply (< 2^96).
        info.stake = uint96(info.stake + value);
        emit Deposited(msg.sender, value);
        token.safeTransferFrom(msg.sender, address(this), value);
    }

    function _lock(address staker, uint256 value, uint256 periods) private {
        if (value == 0) revert ZeroAmount();
        uint256 current = _currentPeriod();
        if (periods > type(uint32).max - current) revert PeriodOverflow(periods);
        Staker storage info = _stakers[staker];
        // Fully past periods are paid at the weight they were committed with, before the lock changes.
        _settle(staker, info, current);

        uint256 oldUnlockPeriod = info.unlockPeriod;
        bool active = current < oldUnlockPeriod;
        // An expired lock starts over from zero.
        uint256 lockedValue = active ? info.lockedValue : 0;
        uint256 available = info.stake - lockedValue;
        if (value > available) revert InsufficientUnlocked(value, available);
        // Cannot overflow: `periods` ≤ 2^32 - 1 - `current`, checked above.
        uint256 unlockPeriod = current + periods;
        // Never shortened: open commitments rely on the lock covering them.
        if (active && oldUnlockPeriod > unlockPeriod) unlockPeriod = oldUnlockPeriod;
        if (unlockPeriod - current < minLockPeriods) revert LockTooShort(unlockPeriod - current, minLockPeriods);
        lockedValue += value;
        if (lockedValue < minStake) revert LockBelowMinimum(lockedValue, minStake);
        if (lockedValue > maxStake) revert LockAboveMaximum(lockedValue, maxStake);

        // Fits: at most the stake (< 2^96) and at most 2^32 - 1 (checked above).
        info.lockedValue = uint96(lockedValue);
        info.unlockPeriod = uint32(unlockPeriod);
        // Open commitments (current and next period) counted the old value; they count the new one too.
        uint256 last = info.lastCommittedPeriod;
        if (last != 0) _addLocked(last, value);
        uint256 previous = info.previousCommittedPeriod;
        if (previous != 0) _addLocked(previous, value);
        emit Locked(staker, value, lockedValue, unlockPeriod);
    }

    /// @dev `staker`'s record and its two slots as words (layout in {_commit}), for code that writes them as words.
    function _stakerWords(address staker) private view returns (Staker storage info, uint256 first, uint256 second) {
        info = _stakers[staker];
        assembly ("memory-safe") {
            first := sload(info.slot)
            second := sload(add(info.slot, 1))
        }
    }

    /// @dev Commits `staker` to the next period if the caller is its confirmed operator, minting the fully past
    /// committed periods first. The staker's two slots are read as words and the second is written once (layout
    /// of {Staker}, low bits first: operator 0–159, lockedValue 160–255; stake 0–95, unlockPeriod 96–127,
    /// lastCommittedPeriod 128–159, previousCommittedPeriod 160–191, operatorBondedPeriod 192–223, offences
    /// 224–247, operatorConfirmed 248–255): field by field, the compiler reloads the warm slot for every field.
    function _commit(address staker) private {
        (Staker storage info, uint256 first, uint256 second) = _stakerWords(staker);
        // `operatorConfirmed` mirrors stakerFromOperator[operator] == staker, so this is the check of both. The
        // zero staker has no operator, and msg.sender is never the zero address.
        if (address(uint160(first)) != msg.sender || second >> 248 == 0) revert NotOperator(msg.sender);
        uint256 current = _currentPeriod();
        uint256 next = current + 1;
        uint256 lockedValue = first >> 160;
        uint256 unlockPeriod = (second >> 96) & type(uint32).max;
        // The lock must outlast the committed period by the accountability window, so the stake that backed
        // the period stays slashable while evidence about it can still arrive. Cannot overflow: both terms
        // are below 2^32 (minOperatorPeriods < minLockPeriods ≤ 2^32 - 1, checked in the constructor).
        uint256 coveredUntil = next + minOperatorPeriods;
        if (lockedValue == 0 || coveredUntil >= unlockPeriod) {
            revert NotLockedForPeriod(staker, coveredUntil, unlockPeriod);
        }
        uint256 last = (second >> 128) & type(uint32).max;
        if (last == next) revert AlreadyCommitted(staker, next);

        // Mint the fully past committed periods. `previous` < `last` ≤ `current` here, so what stays open is at
        // most `last` == `current`, which becomes the previous commitment.
        uint256 previous = (second >> 160) & type(uint32).max;
        uint256 reward;
        if (previous != 0) reward = _periodReward(previous, lockedValue);
        if (last != 0 && last < current) {
            reward += _periodReward(last, lockedValue);
            last = 0;
        }
        // The stake fits 96 bits: the reward comes out of the reserve, inside the escrow's balance (< 2^96); the
        // periods fit 32: `last` ≤ `current` < `next` < `unlockPeriod`, a uint32. Other fields are kept.
        uint256 stake = (second & type(uint96).max) + reward;
        second =
            (second & ~(uint256(type(uint96).max) | (uint256(type(uint64).max) << 128))) |
            stake |
            (next << 128) |
            (last << 160);
        assembly ("memory-safe") {
            sstore(add(info.slot, 1), second)
        }
        if (reward != 0) emit Minted(staker, reward);
        _announceCommitment(_addCommitted(next, lockedValue), staker, next, lockedValue);
    }

    /// @dev Calls the policy manager's hook, if one is set, and emits {CommitmentMade} with the fees it credited:
    /// one event per commitment, where a second event of the PolicyManager cost 1.8k gas more per served node.
    /// Emitted after the call, which comes after every state change of the commitment and changes no state of
    /// this contract (the manager is fixed once set, and its hook makes no call).
    function _announceCommitment(address manager, address staker, uint256 period, uint256 lockedValue) private {
        uint256 feesCredited;
        if (manager != address(0)) feesCredited = IPolicyCommitHook(manager).onCommit(staker, period);
        emit CommitmentMade(staker, period, lockedValue, feesCredited);
    }

    /// @dev {_addLocked} for a commitment, with the period's slot and the `policyManager`/reserve slot each read
    /// and written once as words (the field-by-field code read the period slot three times and wrote it twice
    /// when it opened a period, and read the reserve slot three times). Returns the policy manager, read from
    /// the same slot. Layouts: {Period} locked 0–127, issuance 128–255; policyManager 0–159, reserve 160–255.
    function _addCommitted(uint256 period, uint256 value) private returns (address manager) {
        Period storage p = _periods[period];
        uint256 word;
        uint256 managerWord;
        assembly ("memory-safe") {
            word := sload(p.slot)
            managerWord := sload(policyManager.slot)
        }
        manager = address(uint160(managerWord));
        uint256 locked = word & type(uint128).max;
        if (locked == 0) {
            uint256 reserve = managerWord >> 160;
            // Rounds down, in favour of the reserve.
            uint256 issuance = Math.mulDiv(reserve, issuanceRate, ISSUANCE_RATE_DENOMINATOR);
            // Fits: smaller than the stored reserve.
            managerWord = (managerWord & type(uint160).max) | ((reserve - issuance) << 160);
            assembly ("memory-safe") {
                sstore(policyManager.slot, managerWord)
            }
            // issuance ≤ reserve < 2^96; the period had no stake, so no issuance either.
            word = issuance << 128;
            emit IssuanceAllocated(period, issuance);
        }
        // Fits: the sum of locks is inside the escrow's balance (< 2^96).
        word = (word & ~uint256(type(uint128).max)) | (locked + value);
        assembly ("memory-safe") {
            sstore(p.slot, word)
        }
    }

    /// @dev The staker side of {slash}: mints the fully past periods (as {_settle}), takes `penalty` (at most the
    /// stake) from the stake, unlocked tokens first, shrinks the lock and its open periods by what the rest cannot
    /// cover, and counts the offence (saturating, as {_countOffence}). The staker's two slots are read as words and
    /// each written once (layout in {_commit}): field by field, this reloaded the warm slots a dozen times and
    /// wrote the second one twice. Returns the penalty taken and the new offence count.
    function _takePenalty(address staker, uint256 penalty) private returns (uint256 taken, uint256 offences) {
        (Staker storage info, uint256 first, uint256 second) = _stakerWords(staker);
        uint256 lockedValue = first >> 160;
        uint256 previous = (second >> 160) & type(uint32).max;
        uint256 last = (second >> 128) & type(uint32).max;
        uint256 stake = second & type(uint96).max;
        // Past periods are paid at the weight they were earned with, before the lock shrinks.
        uint256 minted;
        (minted, previous, last) = _pastReward(previous, last, lockedValue);
        if (minted != 0) {
            // Fits 96 bits: the reward comes out of the reserve, inside the escrow's balance (< 2^96).
            stake += minted;
            emit Minted(staker, minted);
        }
        taken = penalty > stake ? stake : penalty;
        stake -= taken;
        if (lockedValue > stake) {
            uint256 cut = lockedValue - stake;
            first = (first & type(uint160).max) | (stake << 160);
            assembly ("memory-safe") {
                sstore(info.slot, first)
            }
            // After settling, every remaining commitment is an open period that counted the old lockedValue.
            if (last != 0) _subLocked(last, cut);
            if (previous != 0) _subLocked(previous, cut);
        }
        offences = (second >> 224) & type(uint24).max;
        if (offences < type(uint24).max) ++offences;
        second =
            (second &
                ~(uint256(type(uint96).max) |
                    (uint256(type(uint64).max) << 128) |
                    (uint256(type(uint24).max) << 224))) |
            stake |
            (last << 128) |
            (previous << 160) |
            (offences << 224);
        assembly ("memory-safe") {
            sstore(add(info.slot, 1), second)
        }
    }

    /// @dev The reward of those of the committed periods `previous` and `last` (0: none) that are fully past, as
    /// {_settle} pays it, and the two periods with the past ones forgotten (set to 0).
    function _pastReward(
        uint256 previous,
        uint256 last,
        uint256 lockedValue
    ) private view returns (uint256 reward, uint256 openPrevious, uint256 openLast) {
        uint256 current = _currentPeriod();
        if (previous != 0 && previous < current) reward = _periodReward(previous, lockedValue);
        else openPrevious = previous;
        if (last != 0 && last < current) reward += _periodReward(last, lockedValue);
        else openLast = last;
    }

    /// @dev Adds the reward of `staker`'s fully past committed periods to its stake and forgets those periods.
    /// @return reward The amount minted.
    function _settle(address staker, Staker storage info, uint256 current) private returns (uint256 reward) {
        uint256 previous = info.previousCommittedPeriod;
        uint256 last = info.lastCommittedPeriod;
        uint256 lockedValue = info.lockedValue;
        // `previous` < `last` whenever both are set, so a past `last` means a past `previous`.
        if (previous != 0 && previous < current) {
            reward = _periodReward(previous, lockedValue);
            info.previousCommittedPeriod = 0;
        }
        if (last != 0 && last < current) {
            reward += _periodReward(last, lockedValue);
            info.lastCommittedPeriod = 0;
        }
        if (reward != 0) {
            // Fits: the reward comes out of the reserve, inside the escrow's balance (< 2^96).
            info.stake += uint96(reward);
            emit Minted(staker, reward);
        }
    }

    /// @dev A staker's reward for one committed period it counted `lockedValue` in.
    function _periodReward(uint256 period, uint256 lockedValue) private view returns (uint256) {
        if (lockedValue == 0) return 0;
        Period storage p = _periods[period];
        // Rounds down, in favour of the reserve: the rewards of a period sum to at most its issuance.
        // `p.locked` ≥ `lockedValue` > 0: the staker's value is part of it.
        return Math.mulDiv(lockedValue, p.issuance, p.locked);
    }

    /// @dev Counts `value` more in `period`; the first stake counted in a period fixes its issuance.
    function _addLocked(uint256 period, uint256 value) private {
        Period storage p = _periods[period];
        uint256 locked = p.locked;
        if (locked == 0) {
            uint256 reserve = _unallocatedReserve;
            // Rounds down, in favour of the reserve.
            uint256 issuance = Math.mulDiv(reserve, issuanceRate, ISSUANCE_RATE_DENOMINATOR);
            // Fits: smaller than the stored reserve.
            _unallocatedReserve = uint96(reserve - issuance);
            p.issuance = uint128(issuance);
            emit IssuanceAllocated(period, issuance);
        }
        // Fits: the sum of locks is inside the escrow's balance (< 2^96).
        p.locked = uint128(locked + value);
    }

    /// @dev Counts `value` less in `period`; a period left with no stake gives its issuance back to the reserve,
    /// since no one could ever mint it.
    function _subLocked(uint256 period, uint256 value) private {
        Period storage p = _periods[period];
        uint256 locked = p.locked - value;
        p.locked = uint128(locked);
        if (locked == 0) {
            uint256 issuance = p.issuance;
            if (issuance != 0) {
                p.issuance = 0;
                // Fits: the issuance was taken from the reserve, all inside the escrow's balance (< 2^96).
                _unallocatedReserve = uint96(_unallocatedReserve + issuance);
                emit IssuanceReturned(period, issuance);
            }
        }
    }
}
