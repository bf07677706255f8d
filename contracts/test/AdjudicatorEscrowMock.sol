// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISlashableEscrow} from "../interfaces/IAdjudicator.sol";

/// @title AdjudicatorEscrowMock
/// @notice Test double of the StakingEscrow's slashing surface: a permanent operator → staker map, stakes set by
/// the test, and a `slash` that only the adjudicator may call and that records what it was asked; it counts
/// offences and holds penalties until `settlePenalty` as the real escrow does.
contract AdjudicatorEscrowMock is ISlashableEscrow {
    /// @notice Emitted by {slash} with its arguments and the stake taken (penalty capped at the stake).
    event MockSlashed(address staker, uint256 penalty, address reporter, uint256 reward, uint256 taken);

    /// @notice Emitted by {settlePenalty} with its arguments.
    event MockSettled(address reporter, uint256 penalty, uint256 reward);

    /// @notice `slash` was called by someone other than the adjudicator.
    error MockNotAdjudicator(address caller);
    /// @notice `settlePenalty` asked for more than is held.
    error MockPenaltyExceedsHeld(uint256 penalty, uint256 held);

    address public adjudicator;
    mapping(address => address) public stakerFromOperator;
    mapping(address => uint256) public stakeOf;
    mapping(address => uint256) public rewardOf;
    uint256 public reserve;
    uint256 public held;
    mapping(address => uint256) public offencesOf;

    /// @notice Sets the only address allowed to call {slash}.
    function setAdjudicator(address adjudicator_) external {
        adjudicator = adjudicator_;
    }

    /// @notice Bonds `operator` to `staker` with `stake` tokens.
    function bond(address operator, address staker, uint256 stake) external {
        stakerFromOperator[operator] = staker;
        stakeOf[staker] = stake;
    }

    /// @inheritdoc ISlashableEscrow
    function slash(address staker, uint256 penalty, address reporter, uint256 reward) external {
        if (msg.sender != adjudicator) revert MockNotAdjudicator(msg.sender);
        uint256 stake = stakeOf[staker];
        uint256 taken = penalty < stake ? penalty : stake;
        stakeOf[staker] = stake - taken;
        held += taken;
        ++offencesOf[staker];
        emit MockSlashed(staker, penalty, reporter, reward, taken);
    }

    /// @inheritdoc ISlashableEscrow
    function settlePenalty(address reporter, uint256 penalty, uint256 reward) external {
        if (msg.sender != adjudicator) revert MockNotAdjudicator(msg.sender);
        if (penalty > held) revert MockPenaltyExceedsHeld(penalty, held);
        held -= penalty;
        rewardOf[reporter] += reward;
        reserve += penalty - reward;
        emit MockSettled(reporter, penalty, reward);
    }

    /// @inheritdoc ISlashableEscrow
    function recordOffence(address staker) external {
        if (msg.sender != adjudicator) revert MockNotAdjudicator(msg.sender);
        ++offencesOf[staker];
    }

    /// @inheritdoc ISlashableEscrow
    function slashingStateOf(address staker) external view returns (uint256 stake, uint256 offences) {
        return (stakeOf[staker], offencesOf[staker]);
    }
}
