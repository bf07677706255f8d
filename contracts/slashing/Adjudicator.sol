// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IAdjudicator, ISlashableEscrow} from "../interfaces/IAdjudicator.sol";
import {ReencryptionValidator, Verdict} from "../lib/ReencryptionValidator.sol";
import {UmbralBytes} from "../lib/UmbralBytes.sol";

/// @title Adjudicator
/// @notice Judges cfrags that nodes signed with their operator keys and slashes the stakers of cheating nodes,
/// paying the reporter a share. See {IAdjudicator} and docs/slashing.md.
/// @dev No reentrancy guard: this contract holds no tokens, changes all its state before its one state-changing
/// external call (`escrow.slash` or `escrow.recordOffence`, last), and the escrow is fixed at deployment.
contract Adjudicator is IAdjudicator {
    // Immutables are named as the IAdjudicator getters they implement.
    /* solhint-disable immutable-vars-naming */
    /// @inheritdoc IAdjudicator
    ISlashableEscrow public immutable escrow;
    /// @inheritdoc IAdjudicator
    uint256 public immutable basePenalty;
    /// @inheritdoc IAdjudicator
    uint256 public immutable penaltyHistoryCoefficient;
    /// @inheritdoc IAdjudicator
    uint256 public immutable percentagePenaltyCoefficient;
    /// @inheritdoc IAdjudicator
    uint256 public immutable rewardCoefficient;
    /* solhint-enable immutable-vars-naming */

    /// @dev capsule ‖ cfrag ‖ keys: 98 + 359 + 99 bytes.
    uint256 private constant CFRAG_AT = UmbralBytes.CAPSULE_LENGTH;
    uint256 private constant KEYS_AT = CFRAG_AT + UmbralBytes.CFRAG_LENGTH;
    uint256 private constant EVIDENCE_LENGTH = KEYS_AT + UmbralBytes.KEYS_LENGTH;

    mapping(bytes32 evidenceHash => bool) private _evaluated;
    // Offences are counted by the escrow, in the staker's record ({ISlashableEscrow.slashingStateOf}).

    /// @param escrow_ The staking escrow (must let this contract call `slash`).
    /// @param basePenalty_ Penalty of a first offence, token wei.
    /// @param penaltyHistoryCoefficient_ Added per earlier offence, token wei.
    /// @param percentagePenaltyCoefficient_ Cap divisor: penalty ≤ stake / this (≥ 1).
    /// @param rewardCoefficient_ Reporter share divisor: reward = penalty / this (≥ 1).
    constructor(
        ISlashableEscrow escrow_,
        uint256 basePenalty_,
        uint256 penaltyHistoryCoefficient_,
        uint256 percentagePenaltyCoefficient_,
        uint256 rewardCoefficient_
    ) {
        if (address(escrow_) == address(0)) revert AdjudicatorZeroEscrow();
        if (percentagePenaltyCoefficient_ == 0) revert AdjudicatorZeroPercentageCoefficient();
        if (rewardCoefficient_ == 0) revert AdjudicatorZeroRewardCoefficient();
        escrow = escrow_;
        basePenalty = basePenalty_;
        penaltyHistoryCoefficient = penaltyHistoryCoefficient_;
        percentagePenaltyCoefficient = percentagePenaltyCoefficient_;
        rewardCoefficient = rewardCoefficient_;
    }

    /// @inheritdoc IAdjudicator
    function evaluateCFrag(
        bytes calldata evidence,
        bytes calldata nodeSignature,
        bytes calldata hints
    ) external returns (Verdict verdict) {
        // Canonical bytes first: the replay guard below is keyed by them.
        _requireCanonical(evidence);
        bytes32 hash = keccak256(evidence);
        // OpenZeppelin's recover rejects high-S and malformed signatures, so one evidence has one signature form.
        address operator = ECDSA.recover(MessageHashUtils.toEthSignedMessageHash(hash), nodeSignature);
        address staker = escrow.stakerFromOperator(operator);
        if (staker == address(0)) revert NotBondedOperator(operator);
        if (_evaluated[hash]) revert EvidenceAlreadyEvaluated(hash);

        verdict = ReencryptionValidator.validate(
            evidence[:CFRAG_AT],
            evidence[CFRAG_AT:KEYS_AT],
            evidence[KEYS_AT:],
            hints
        );

        _evaluated[hash] = true;
        emit CFragEvaluated(hash, staker, msg.sender, operator, verdict);
        if (verdict == Verdict.Correct) return verdict;

        (uint256 stake, uint256 offences) = escrow.slashingStateOf(staker);
        (uint256 penalty, uint256 reward) = _penalty(stake, offences);
        // The escrow counts the offence in the same call (its slot write is paid by the slash anyway). The
        // offence count is below 2^32 (the escrow's counter), so + 1 cannot overflow.
        emit Slashed(staker, msg.sender, penalty, reward, offences + 1);
        if (penalty != 0) escrow.slash(staker, penalty, msg.sender, reward);
        else escrow.recordOffence(staker);
    }

    /// @inheritdoc IAdjudicator
    function evidenceHash(bytes calldata evidence) external pure returns (bytes32) {
        UmbralBytes.requireLength(evidence, EVIDENCE_LENGTH, 4);
        return keccak256(evidence);
    }

    /// @inheritdoc IAdjudicator
    function isEvaluated(bytes32 hash) external view returns (bool) {
        return _evaluated[hash];
    }

    /// @inheritdoc IAdjudicator
    function offencesOf(address staker) external view returns (uint256) {
        return escrow.offencesOf(staker);
    }

    /// @inheritdoc IAdjudicator
    function penaltyOf(address staker) external view returns (uint256 penalty, uint256 reward) {
        (uint256 stake, uint256 offences) = escrow.slashingStateOf(staker);
        return _penalty(stake, offences);
    }

    /// @dev Reverts unless `evidence` is 556 bytes of canonical capsule ‖ cfrag ‖ keys.
    function _requireCanonical(bytes calldata evidence) private pure {
        UmbralBytes.requireLength(evidence, EVIDENCE_LENGTH, 4);
        ReencryptionValidator.requireCanonical(evidence[:CFRAG_AT], evidence[CFRAG_AT:KEYS_AT], evidence[KEYS_AT:]);
    }

    /// @dev min(base + historyCoefficient × offences, stake / percentageCoefficient) and penalty / rewardCoefficient.
    function _penalty(uint256 stake, uint256 offences) private view returns (uint256 penalty, uint256 reward) {
        penalty = basePenalty + penaltyHistoryCoefficient * offences;
        // Rounds down: the cap is a promise to stakers that no offence takes more than this share of the stake.
        uint256 cap = stake / percentagePenaltyCoefficient;
        if (penalty > cap) penalty = cap;
        // Rounds down: the reporter's share is floored and the remainder goes back to the mining reserve.
        reward = penalty / rewardCoefficient;
    }
}
