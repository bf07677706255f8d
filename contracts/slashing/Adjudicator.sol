// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAdjudicator, ISlashableEscrow} from "../interfaces/IAdjudicator.sol";
import {ReencryptionValidator, Verdict} from "../lib/ReencryptionValidator.sol";
import {UmbralBytes} from "../lib/UmbralBytes.sol";

/// @title Adjudicator
/// @notice Judges cfrags that nodes signed with their operator keys and slashes the stakers of cheating nodes,
/// paying the reporter a share. See {IAdjudicator} and docs/slashing.md.
/// @dev No reentrancy guard: this contract holds no tokens, changes all its state before its one state-changing
/// external call (`escrow.slash` or `escrow.recordOffence`, last), and the escrow is fixed at deployment.
contract Adjudicator is IAdjudicator, EIP712 {
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

    /// @dev Keyed by keccak256(attestation digest ‖ staker): one judgement per node and cfrag. Keying by the
    /// evidence alone would let anyone's key that signed the same bytes first shield the node that served them.
    mapping(bytes32 judgementKey => bool) private _evaluated;
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
        if (_evaluated[key]) revert EvidenceAlreadyEvaluated(digest, staker);

        verdict = ReencryptionValidator.validate(
            evidence[:CFRAG_AT],
            evidence[CFRAG_AT:KEYS_AT],
            evidence[KEYS_AT:],
            hints
        );

        _evaluated[key] = true;
        emit CFragEvaluated(digest, staker, msg.sender, operator, verdict);
        if (verdict == Verdict.Correct) return verdict;

        (uint256 stake, uint256 offences) = escrow.slashingStateOf(staker);
        (uint256 penalty, uint256 reward) = _penalty(stake, offences);
        // The escrow counts the offence in the same call (its slot write is paid by the slash anyway). The
        // offence count is below 2^24 (the escrow's counter), so + 1 cannot overflow.
        emit Slashed(staker, msg.sender, penalty, reward, offences + 1);
        if (penalty != 0) escrow.slash(staker, penalty, msg.sender, reward);
        else escrow.recordOffence(staker);
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
        return _evaluated[_judgementKey(digest, staker)];
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
