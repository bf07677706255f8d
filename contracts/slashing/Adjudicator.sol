// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAdjudicator, ISlashableEscrow} from "../interfaces/IAdjudicator.sol";
import {ReencryptionValidator, Verdict} from "../lib/ReencryptionValidator.sol";
import {UmbralBytes} from "../lib/UmbralBytes.sol";

/// @title Adjudicator
/// @notice Judges cfrags that nodes signed with their operator keys and slashes the stakers of cheating nodes;
/// the reporter claims its share of the penalty afterwards ({claimReward}). See {IAdjudicator} and docs/slashing.md.
/// @dev This contract holds no tokens. Every state change comes before its one state-changing external call
/// (`escrow.slash`, `escrow.recordOffence` or `escrow.settlePenalty`, last), the escrow is fixed at deployment,
/// and {claimReward}, the one call that moves tokens (from the escrow to the reporter), is also `nonReentrant`.
contract Adjudicator is IAdjudicator, EIP712, ReentrancyGuardTransient {
    /// @inheritdoc IAdjudicator
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "ReencryptionAttestation(bytes capsule,bytes cfrag,bytes delegatingKey,bytes receivingKey,bytes verifyingKey)"
    );

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

    /// @dev Cheating verdicts, keyed by keccak256(attestation digest ‖ staker): one per node and cfrag. Keying by
    /// the evidence alone would let anyone's key that signed the same bytes first shield the node that served them.
    /// A judgement is the reporter (bits 0–159, never 0: it is a caller) and the penalty the escrow holds for it
    /// until {claimReward} settles it (bits 160–255; a penalty is at most a stake, < 2^96), so the replay guard's
    /// slot, written anyway, also carries the reporter's claim. Correct verdicts are not recorded: judging a correct
    /// cfrag again changes nothing, and its slot would cost 22.1k gas.
    mapping(bytes32 judgementKey => uint256 judgement) private _judgements;
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
    ) EIP712("umbral-kms Adjudicator", "1") {
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
        // Canonical bytes first: one cfrag has one encoding, so one digest.
        _requireCanonical(evidence);
        bytes32 digest = _attestationDigest(evidence);
        // OpenZeppelin's recover rejects high-S and malformed signatures, so one evidence has one signature form.
        address operator = ECDSA.recover(digest, nodeSignature);
        address staker = escrow.stakerFromOperator(operator);
        if (staker == address(0)) revert NotBondedOperator(operator);
        bytes32 key = _judgementKey(digest, staker);
        if (_judgements[key] != 0) revert EvidenceAlreadyEvaluated(digest, staker);

        verdict = ReencryptionValidator.validate(
            evidence[:CFRAG_AT],
            evidence[CFRAG_AT:KEYS_AT],
            evidence[KEYS_AT:],
            hints
        );

        emit CFragEvaluated(digest, staker, msg.sender, operator, verdict);
        if (verdict == Verdict.Correct) return verdict;

        (uint256 stake, uint256 offences) = escrow.slashingStateOf(staker);
        (uint256 penalty, uint256 reward) = _penalty(stake, offences);
        // penalty ≤ stake / percentagePenaltyCoefficient ≤ stake < 2^96, and the escrow takes all of it: the slash
        // only adds minted rewards to the stake before taking. msg.sender is never 0, so the slot is never 0.
        _judgements[key] = (penalty << 160) | uint160(msg.sender);
        // The escrow counts the offence in the same call (its slot write is paid by the slash anyway) and emits
        // the one event of the slash, {IStakingEscrow-Slashed} or {IStakingEscrow-OffenceRecorded}: penalty,
        // reward, reporter and offence count (a second copy here cost 2.3k gas).
        if (penalty != 0) escrow.slash(staker, penalty, msg.sender, reward);
        else escrow.recordOffence(staker);
    }

    /// @inheritdoc IAdjudicator
    function claimReward(bytes32 digest, address staker) external nonReentrant returns (uint256 reward) {
        bytes32 key = _judgementKey(digest, staker);
        uint256 judgement = _judgements[key];
        uint256 penalty = judgement >> 160;
        if (penalty == 0) revert NothingToClaim(digest, staker);
        address reporter = address(uint160(judgement));
        // The same floor as at the verdict ({_penalty}): the immutables have not changed, so this is the reward
        // the Slashed event announced.
        reward = penalty / rewardCoefficient;
        // The reporter stays recorded: the slot is still the replay guard.
        _judgements[key] = uint160(reporter);
        emit RewardClaimed(digest, staker, reporter, penalty, reward);
        escrow.settlePenalty(reporter, penalty, reward);
    }

    /// @inheritdoc IAdjudicator
    function attestationDigest(bytes calldata evidence) external view returns (bytes32) {
        UmbralBytes.requireLength(evidence, EVIDENCE_LENGTH, 4);
        return _attestationDigest(evidence);
    }

    /// @inheritdoc IAdjudicator
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IAdjudicator
    function isEvaluated(bytes32 digest, address staker) external view returns (bool) {
        return _judgements[_judgementKey(digest, staker)] != 0;
    }

    /// @inheritdoc IAdjudicator
    function judgementOf(
        bytes32 digest,
        address staker
    ) external view returns (address reporter, uint256 penalty, uint256 reward) {
        uint256 judgement = _judgements[_judgementKey(digest, staker)];
        reporter = address(uint160(judgement));
        penalty = judgement >> 160;
        reward = penalty / rewardCoefficient;
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

    /// @dev The EIP-712 digest of the attestation of `evidence` (556 bytes, length already checked) in this
    /// Adjudicator's domain: each part hashed as EIP-712 hashes `bytes`, then the struct, then the domain.
    function _attestationDigest(bytes calldata evidence) private view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ATTESTATION_TYPEHASH,
                keccak256(evidence[:CFRAG_AT]),
                keccak256(evidence[CFRAG_AT:KEYS_AT]),
                keccak256(evidence[KEYS_AT:KEYS_AT + UmbralBytes.POINT_LENGTH]),
                keccak256(evidence[KEYS_AT + UmbralBytes.POINT_LENGTH:KEYS_AT + 2 * UmbralBytes.POINT_LENGTH]),
                keccak256(evidence[KEYS_AT + 2 * UmbralBytes.POINT_LENGTH:])
            )
        );
        return _hashTypedDataV4(structHash);
    }

    /// @dev The replay-guard key of one judgement: the attested cfrag and the node (staker) it is charged to.
    function _judgementKey(bytes32 digest, address staker) private pure returns (bytes32) {
        return keccak256(abi.encode(digest, staker));
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
