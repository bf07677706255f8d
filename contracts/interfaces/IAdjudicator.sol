// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Verdict} from "../lib/ReencryptionValidator.sol";

/// @title ISlashableEscrow
/// @notice The StakingEscrow functions the Adjudicator calls (a subset of IStakingEscrow, same signatures).
/// @dev Kept separate so the Adjudicator depends on exactly what it uses.
interface ISlashableEscrow {
    /// @notice The staker `operator` was ever bonded to (the mapping is permanent), or 0 if never bonded.
    function stakerFromOperator(address operator) external view returns (address);

    /// @notice All tokens `staker` holds in escrow.
    function stakeOf(address staker) external view returns (uint256);

    /// @notice `staker`'s stake and the offences counted against it, in one call.
    function slashingStateOf(address staker) external view returns (uint256 stake, uint256 offences);

    /// @notice Offences counted against `staker`.
    function offencesOf(address staker) external view returns (uint256);

    /// @notice Takes `penalty` from `staker` and holds it until {settlePenalty}, and counts one offence. Only the
    /// adjudicator may call it.
    function slash(address staker, uint256 penalty, address reporter, uint256 reward) external;

    /// @notice Settles a held `penalty`: pays `reward` of it to `reporter` and returns the rest to the mining
    /// reserve. Only the adjudicator may call it.
    function settlePenalty(address reporter, uint256 penalty, uint256 reward) external;

    /// @notice Counts one offence against `staker`, taking nothing. Only the adjudicator may call it.
    function recordOffence(address staker) external;
}

/// @title IAdjudicator
/// @notice Judges re-encryptions that nodes signed and slashes the stakers of nodes that cheated.
/// @dev A node signs, with its operator key, an EIP-712 attestation of every cfrag it returns:
/// `ReencryptionAttestation(bytes capsule, bytes cfrag, bytes delegatingKey, bytes receivingKey, bytes
/// verifyingKey)` in the domain {name: "umbral-kms Adjudicator", version: "1", chainId, verifyingContract: this
/// Adjudicator}, capsule and cfrag in rust-umbral's simple forms (98 and 359 bytes), keys 33-byte compressed. The
/// domain binds an attestation to one deployment: a cfrag signed for a test chain judges nothing elsewhere. Anyone
/// holding the evidence can submit it; each (attestation, staker) pair is judged a cheat at most once. The penalty
/// stays in the escrow until anyone calls {claimReward}, which pays the reporter its share and returns the rest to
/// the mining reserve (a pull payment: the verdict transaction moves no tokens, see docs/slashing.md).
interface IAdjudicator {
    /// @notice Evidence was judged. `verdict` is {Verdict.Correct} or the first check the cfrag failed.
    /// `attestationDigest` is the EIP-712 digest the operator signed.
    event CFragEvaluated(
        bytes32 indexed attestationDigest,
        address indexed staker,
        address indexed reporter,
        address operator,
        Verdict verdict
    );

    /// @notice The judgement of `attestationDigest` against `staker` was settled: `reporter` was paid `reward` and
    /// the rest of `penalty` went back to the mining reserve.
    event RewardClaimed(
        bytes32 indexed attestationDigest,
        address indexed staker,
        address indexed reporter,
        uint256 penalty,
        uint256 reward
    );

    /// @notice The constructor was given the zero address as the escrow.
    error AdjudicatorZeroEscrow();
    /// @notice The constructor was given a zero percentage-penalty coefficient (it divides the stake).
    error AdjudicatorZeroPercentageCoefficient();
    /// @notice The constructor was given a zero reward coefficient (it divides the penalty).
    error AdjudicatorZeroRewardCoefficient();
    /// @notice The node signature recovers to `operator`, which was never bonded to a staker.
    error NotBondedOperator(address operator);
    /// @notice This attested cfrag was already judged a cheat of `staker`'s node.
    error EvidenceAlreadyEvaluated(bytes32 attestationDigest, address staker);
    /// @notice No cheating verdict of this attested cfrag against `staker` awaits settlement (never judged a cheat,
    /// a zero penalty, or already claimed).
    error NothingToClaim(bytes32 attestationDigest, address staker);

    /// @notice Judges a cfrag a node signed and, if it is wrong, slashes the node's staker and rewards the caller.
    /// @dev Reverts (never judges) on: wrong lengths, non-canonical encodings, a point not on the curve, an invalid
    /// node signature, an operator never confirmed for a staker, a cfrag already judged a cheat of the same staker,
    /// and any hint that is not the fact it claims. Hints can change gas, never a verdict. Emits {CFragEvaluated}; on
    /// a verdict other than Correct the escrow emits {IStakingEscrow-Slashed} (penalty, reward, reporter, offence
    /// count; {IStakingEscrow-OffenceRecorded} when the penalty is zero), and this contract records the caller as
    /// the reporter who may {claimReward}. A Correct verdict records nothing, so the same correct cfrag may be
    /// judged (Correct) again.
    /// @param evidence capsule (98-byte simple form) ‖ cfrag (359-byte simple form) ‖ delegatingKey ‖ receivingKey
    /// ‖ verifyingKey (33-byte compressed each): 556 bytes, exactly what the node signed.
    /// @param nodeSignature The operator's 65-byte signature (r ‖ s ‖ v) of {attestationDigest}(evidence).
    /// @param hints 417 bytes, or 481 with the two words that prove an invalid kfrag signature in one `ecrecover`;
    /// layout in ReencryptionValidator (and docs/slashing.md); build them with src/slashing.
    /// @return verdict {Verdict.Correct}, or the first check the cfrag failed.
    function evaluateCFrag(
        bytes calldata evidence,
        bytes calldata nodeSignature,
        bytes calldata hints
    ) external returns (Verdict verdict);

    /// @notice Pays the reporter of the cheating verdict of `digest` against `staker` its reward and returns the rest
    /// of the penalty to the mining reserve. Anyone may call it; the reward always goes to the recorded reporter.
    /// Emits {RewardClaimed} (and the escrow's {IStakingEscrow-PenaltySettled}).
    /// @param digest The {attestationDigest} of the judged evidence.
    /// @param staker The staker it was charged to.
    /// @return reward The amount paid to the reporter: penalty / {rewardCoefficient}, rounded down.
    function claimReward(bytes32 digest, address staker) external returns (uint256 reward);

    /// @notice The cheating verdict of `digest` against `staker`, if any.
    /// @param digest An {attestationDigest}.
    /// @param staker The staker the signing operator is bonded to.
    /// @return reporter Who reported it (0 if not judged a cheat).
    /// @return penalty The penalty the escrow still holds for it (0 once claimed).
    /// @return reward What {claimReward} would pay the reporter now.
    function judgementOf(
        bytes32 digest,
        address staker
    ) external view returns (address reporter, uint256 penalty, uint256 reward);

    /// @notice The EIP-712 type hash of the attestation a node signs.
    /// @return keccak256 of the `ReencryptionAttestation(...)` type string.
    function ATTESTATION_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 digest a node signs for `evidence` in this Adjudicator's domain.
    /// @param evidence capsule ‖ cfrag ‖ keys, 556 bytes.
    /// @return The digest that the node signature must recover from.
    function attestationDigest(bytes calldata evidence) external view returns (bytes32);

    /// @notice This Adjudicator's EIP-712 domain separator (name "umbral-kms Adjudicator", version "1").
    /// @return The domain separator for the current chain id.
    function domainSeparator() external view returns (bytes32);

    /// @notice Whether the cfrag attested by `digest` was already judged a cheat of `staker`'s node.
    /// @param digest An {attestationDigest}.
    /// @param staker The staker the signing operator is bonded to.
    /// @return True once judged a cheat (Correct verdicts are not recorded).
    function isEvaluated(bytes32 digest, address staker) external view returns (bool);

    /// @notice How many offences `staker` was slashed for.
    /// @dev Kept by the escrow in the staker's record ({ISlashableEscrow.offencesOf}): a slash writes that slot
    /// anyway, where a counter here would cost a new storage slot (22.1k gas) on every staker's first offence.
    /// @param staker The staker.
    /// @return The number of cheating verdicts against the staker's operators.
    function offencesOf(address staker) external view returns (uint256);

    /// @notice The penalty and reporter reward a cheating verdict against `staker` would bring now.
    /// @param staker The staker.
    /// @return penalty min(basePenalty + penaltyHistoryCoefficient × offences, stake / percentagePenaltyCoefficient).
    /// @return reward penalty / rewardCoefficient.
    function penaltyOf(address staker) external view returns (uint256 penalty, uint256 reward);

    /// @notice The staking escrow that maps operators to stakers and takes penalties.
    /// @return The escrow.
    function escrow() external view returns (ISlashableEscrow);

    /// @notice Penalty of a first offence, in token wei.
    /// @return The base penalty.
    function basePenalty() external view returns (uint256);

    /// @notice Added to the penalty for each earlier offence, in token wei.
    /// @return The history coefficient.
    function penaltyHistoryCoefficient() external view returns (uint256);

    /// @notice The penalty never exceeds stake / this.
    /// @return The percentage-penalty coefficient.
    function percentagePenaltyCoefficient() external view returns (uint256);

    /// @notice The reporter gets penalty / this.
    /// @return The reward coefficient.
    function rewardCoefficient() external view returns (uint256);
}
