// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title ConditionNFT
/// @notice Test double for access conditions on ERC-721 ownership: anyone may mint any id, so a test sets the
/// holders it needs. Never deployed outside tests.
contract ConditionNFT is ERC721 {
    constructor() ERC721("Condition NFT", "CNFT") {}

    /// @notice Mints token `tokenId` to `to`.
    /// @param to The receiver.
    /// @param tokenId The token id; reverts if it exists.
    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
