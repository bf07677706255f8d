// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IKMSToken} from "../interfaces/IKMSToken.sol";

/// @title KMSToken
/// @notice "KMS Token" (KMS), 18 decimals. The whole supply is minted once, at deployment, to `holder`;
/// no address can ever mint again. It pays for policies, is locked as stake by re-encryption nodes and is
/// the security deposit that slashing takes from.
/// @dev Permit (EIP-2612) lets Alice create a policy and a staker deposit in one transaction.
contract KMSToken is ERC20, ERC20Permit, IKMSToken {
    /// @notice Mints the fixed `totalSupply_` to `holder`.
    /// @param holder Receives the whole supply (the deployer splits it into circulation and mining reserve).
    /// @param totalSupply_ The fixed total supply, in wei (10^-18 KMS).
    constructor(address holder, uint256 totalSupply_) ERC20("KMS Token", "KMS") ERC20Permit("KMS Token") {
        if (holder == address(0)) revert KMSTokenZeroHolder();
        if (totalSupply_ == 0) revert KMSTokenZeroSupply();
        _mint(holder, totalSupply_);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }
}
