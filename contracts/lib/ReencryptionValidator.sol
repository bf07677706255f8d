// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Secp256k1} from "./Secp256k1.sol";
import {UmbralBytes} from "./UmbralBytes.sol";

/// @notice What the Adjudicator concluded about a cfrag. Every value but `Correct` is proof of cheating.
/// @dev `KFragSignatureInvalid`: the verifying key's signature does not cover (id, U1, P, pk_A, pk_B) as carried by
/// the cfrag and attested by the node. The three others name the first proof equation that fails:
/// z·E = e2 + h·e1, z·V = v2 + h·v1, z·U = u2 + h·U1.
enum Verdict {
    Correct,
    KFragSignatureInvalid,
    EEquationFailed,
    VEquationFailed,
    UEquationFailed
}

/// @title ReencryptionValidator
/// @notice Decides whether an Umbral (rust-umbral 0.10) cfrag is a correct re-encryption of a capsule under the
/// keys a node attested, with every curve operation replaced by a check of a caller-supplied hint.
/// @dev Hints, one packed `bytes` of 417 bytes with fixed offsets (all words 32-byte big-endian):
///   0 e1h = h·e1 (x, y) · 64 v1h = h·v1 · 128 u1h = h·U1 · 192 y(verifying key) ·
///   224 slope of e2 + e1h · 256 slope of v2 + v1h · 288 slope of u2 + u1h ·
///   320 y(precursor P) · 352 y(delegating key) · 384 y(receiving key) ·
///   416 one byte: the kfrag signature's recovery id to try first (only an ordering hint, see {validate}).
/// An invalid kfrag signature can be proven with one `ecrecover` instead of two by 64 more bytes (481 in all,
/// {HINTS_LENGTH_PROVING}): 417 s⁻¹ mod N · 449 a y of the curve point with x = r (either root). Both are
/// checked, and a wrong one only costs the two-`ecrecover` path ({kfragSignatureValid}).
/// Each equation z·B = A + h·H is checked as: h·H proven against its hint (one ecrecover), S = A + h·H computed
/// with the slope hint (which also yields A's y, proven on the curve), then z·B compared with S by one more
/// ecrecover. The z-products are never hinted: they are what is being judged. A hint that is not the fact it
/// claims to be makes {validate} revert; it can never change the verdict.
library ReencryptionValidator {
    uint256 internal constant HINTS_LENGTH = 417;
    /// @dev The hints with the two words that decide the kfrag signature in one `ecrecover`.
    uint256 internal constant HINTS_LENGTH_PROVING = 481;

    /// @notice The SHA-256 precompile failed (out of gas).
    error Sha256Failed();

    uint256 private constant HINT_PRODUCTS = 0; // h-products of e1, v1, U1: 64 bytes each
    uint256 private constant HINT_VERIFYING_KEY_Y = 192;
    uint256 private constant HINT_SLOPES = 224; // e, v, u
    uint256 private constant HINT_PRECURSOR_Y = 320;
    uint256 private constant HINT_DELEGATING_KEY_Y = 352;
    uint256 private constant HINT_RECEIVING_KEY_Y = 384;
    uint256 private constant HINT_RECOVERY_ID = 416;
    uint256 private constant HINT_S_INVERSE = 417;
    uint256 private constant HINT_NONCE_Y = 449;

    /// @dev be32(18) ‖ "CFRAG_VERIFICATION" (rust-umbral's hash-to-scalar prefixes the DST with its length), 22
    /// bytes left-aligned in a word; the rest of the word is overwritten by the points that follow.
    uint256 private constant CHALLENGE_PREFIX_WORD = 0x0000001243465241475f564552494649434154494f4e00000000000000000000;
    /// @dev Umbral's second generator U (RFC 9380 hash-to-curve of "POINT_U", DST "PARAMETERS") is 03 ‖ U_X.
    uint256 private constant U_X = 0x079390d0fbe220fc34aab8ecbf49098098036820fadb98c03143e55db8ec73cd;

    /// @notice Reverts unless every point, scalar and length of the evidence has its one canonical encoding.
    /// @dev The kfrag signature (r, s) is not checked here: an out-of-range or high-S signature is an invalid
    /// signature, which is a verdict, not a malformed input.
    function requireCanonical(bytes calldata capsule, bytes calldata cfrag, bytes calldata keys) internal pure {
        UmbralBytes.requireLength(capsule, UmbralBytes.CAPSULE_LENGTH, 0);
        UmbralBytes.requireLength(cfrag, UmbralBytes.CFRAG_LENGTH, 1);
        UmbralBytes.requireLength(keys, UmbralBytes.KEYS_LENGTH, 2);
        // Fast path: one pass that only says whether anything is off; the detailed checks below run only then,
        // to revert with the field and value at fault.
        bool malformed;
        uint256 p = Secp256k1.P;
        uint256 n = Secp256k1.N;
        assembly ("memory-safe") {
            function off(at, fieldPrime) -> r {
                let prefix := byte(0, calldataload(at))
                r := or(iszero(or(eq(prefix, 2), eq(prefix, 3))), iszero(lt(calldataload(add(at, 1)), fieldPrime)))
            }
            let c := capsule.offset
            let f := cfrag.offset
            let k := keys.offset
            malformed := or(or(off(c, p), off(add(c, 33), p)), iszero(lt(calldataload(add(c, 66)), n)))
            malformed := or(
                malformed,
                or(or(off(f, p), off(add(f, 33), p)), or(off(add(f, 98), p), off(add(f, 131), p)))
            )
            malformed := or(malformed, or(or(off(add(f, 164), p), off(add(f, 197), p)), off(add(f, 230), p)))
            malformed := or(malformed, iszero(lt(calldataload(add(f, 263)), n)))
            malformed := or(malformed, or(or(off(k, p), off(add(k, 33), p)), off(add(k, 66), p)))
        }
        if (!malformed) return;
        UmbralBytes.point(capsule, UmbralBytes.CAPSULE_E, 0);
        UmbralBytes.point(capsule, UmbralBytes.CAPSULE_V, 0);
        UmbralBytes.scalar(capsule, UmbralBytes.CAPSULE_S, 0);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_E1, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_V1, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_PRECURSOR, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_E2, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_V2, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_U1, 1);
        UmbralBytes.point(cfrag, UmbralBytes.CFRAG_U2, 1);
        UmbralBytes.scalar(cfrag, UmbralBytes.CFRAG_Z, 1);
        UmbralBytes.point(keys, UmbralBytes.KEYS_DELEGATING, 2);
        UmbralBytes.point(keys, UmbralBytes.KEYS_RECEIVING, 2);
        UmbralBytes.point(keys, UmbralBytes.KEYS_VERIFYING, 2);
        // Unreachable: the fast path and the detailed checks test the same conditions.
        assert(false);
    }

    /// @notice Judges a cfrag. Inputs must have passed {requireCanonical}.
    /// @dev Every point of the evidence is proven to be on the curve before any verdict is returned, or the call
    /// reverts with {Secp256k1.PointNotOnCurve} (signed bytes that are not Umbral data are no re-encryption; see
    /// docs/slashing.md): the verifying key, the precursor and the delegating and receiving keys by their y hints,
    /// e1, v1, U1 by their proven h-products, e2, v2, u2 by their proven sums, and E, V by the
    /// z-product (by decompression on the rare paths that need none). Only then is the verdict taken, in the
    /// order: the kfrag signature (it binds U1, P and the keys to the delegator), then the three equations. The
    /// kfrag signature's recovery id is never taken on trust: the hinted one is tried first and the other one
    /// next, so a wrong hint costs one more `ecrecover` and never makes a valid signature fail.
    function validate(
        bytes calldata capsule,
        bytes calldata cfrag,
        bytes calldata keys,
        bytes calldata hints
    ) internal view returns (Verdict) {
        if (hints.length != HINTS_LENGTH_PROVING) UmbralBytes.requireLength(hints, HINTS_LENGTH, 3);
        bool signatureValid = kfragSignatureValid(cfrag, keys, hints);
        // Only hashed by the checks above and below: proven here, so no verdict rests on a point that is not one.
        _requireHintedY(cfrag, UmbralBytes.CFRAG_PRECURSOR, 1, hints, HINT_PRECURSOR_Y);
        _requireHintedY(keys, UmbralBytes.KEYS_DELEGATING, 2, hints, HINT_DELEGATING_KEY_Y);
        _requireHintedY(keys, UmbralBytes.KEYS_RECEIVING, 2, hints, HINT_RECEIVING_KEY_Y);

        uint256 h = challenge(capsule, cfrag);
        uint256 z = UmbralBytes.word(cfrag, UmbralBytes.CFRAG_Z);
        uint256 hintsAt;
        uint256 capsuleAt;
        uint256 cfragAt;
        assembly ("memory-safe") {
            hintsAt := hints.offset
            capsuleAt := capsule.offset
            cfragAt := cfrag.offset
        }
        bool eHolds = _equationHolds(hintsAt, 0, capsuleAt, cfragAt, z, h);
        bool vHolds = _equationHolds(hintsAt, 1, capsuleAt, cfragAt, z, h);
        bool uHolds = _equationHolds(hintsAt, 2, capsuleAt, cfragAt, z, h);
        if (!signatureValid) return Verdict.KFragSignatureInvalid;
        if (!eHolds) return Verdict.EEquationFailed;
        if (!vHolds) return Verdict.VEquationFailed;
        if (!uHolds) return Verdict.UEquationFailed;
        return Verdict.Correct;
    }

    /// @notice rust-umbral's challenge scalar h = H(CFRAG_VERIFICATION; E, e1, e2, V, v1, v2, U, U1, u2):
    /// SHA-256 of the length-prefixed DST and the nine compressed points, reduced to (digest mod (N − 1)) + 1.
    function challenge(bytes calldata capsule, bytes calldata cfrag) internal view returns (uint256) {
        bytes32 digest;
        bool ok;
        assembly ("memory-safe") {
            // 22-byte prefix + 9 points of 33 bytes = 319 bytes, written at the free pointer and left unclaimed.
            let m := mload(0x40)
            mstore(m, CHALLENGE_PREFIX_WORD)
            calldatacopy(add(m, 22), add(capsule.offset, 0), 33) // E
            calldatacopy(add(m, 55), add(cfrag.offset, 0), 33) // e1
            calldatacopy(add(m, 88), add(cfrag.offset, 131), 33) // e2
            calldatacopy(add(m, 121), add(capsule.offset, 33), 33) // V
            calldatacopy(add(m, 154), add(cfrag.offset, 33), 33) // v1
            calldatacopy(add(m, 187), add(cfrag.offset, 164), 33) // v2
            mstore8(add(m, 220), 0x03) // U
            mstore(add(m, 221), U_X)
            calldatacopy(add(m, 253), add(cfrag.offset, 197), 33) // U1
            calldatacopy(add(m, 286), add(cfrag.offset, 230), 33) // u2
            ok := staticcall(gas(), 0x02, m, 319, 0x00, 0x20)
            digest := mload(0x00)
        }
        if (!ok) revert Sha256Failed();
        // Never zero, as rust-umbral's NonZeroCurveScalar::from_digest.
        return (uint256(digest) % (Secp256k1.N - 1)) + 1;
    }

    /// @notice SHA-256 of the kfrag validity message id ‖ U1 ‖ P ‖ 01 ‖ pk_A ‖ 01 ‖ pk_B, rebuilt from the cfrag's
    /// own fields and the attested keys (never taken from the caller).
    function kfragValidityDigest(bytes calldata cfrag, bytes calldata keys) internal view returns (bytes32 digest) {
        bool ok;
        assembly ("memory-safe") {
            // 32 + 33 + 33 + 34 + 34 = 166 bytes at the free pointer, left unclaimed.
            let m := mload(0x40)
            calldatacopy(m, add(cfrag.offset, 66), 32) // id
            calldatacopy(add(m, 32), add(cfrag.offset, 197), 33) // U1
            calldatacopy(add(m, 65), add(cfrag.offset, 98), 33) // P
            mstore8(add(m, 98), 0x01)
            calldatacopy(add(m, 99), keys.offset, 33) // pk_A
            mstore8(add(m, 132), 0x01)
            calldatacopy(add(m, 133), add(keys.offset, 33), 33) // pk_B
            ok := staticcall(gas(), 0x02, m, 166, 0x00, 0x20)
            digest := mload(0x00)
        }
        if (!ok) revert Sha256Failed();
    }

    /// @notice Whether the cfrag's kfrag signature is a valid low-S ECDSA signature by the attested verifying key
    /// over {kfragValidityDigest}. The verifying key's y hint is proven, not trusted.
    /// @dev Known limit: a signature whose nonce point has x in [N, P) verifies in ECDSA (r = x − N) but cannot be
    /// recovered by `ecrecover`; an honest signer produces one with probability about 2^-128.
    function kfragSignatureValid(
        bytes calldata cfrag,
        bytes calldata keys,
        bytes calldata hints
    ) internal view returns (bool) {
        (uint256 vkX, bool vkOdd) = UmbralBytes.point(keys, UmbralBytes.KEYS_VERIFYING, 2);
        uint256 vkY = UmbralBytes.word(hints, HINT_VERIFYING_KEY_Y);
        Secp256k1.requireY(vkX, vkOdd, vkY);
        uint256 r = UmbralBytes.word(cfrag, UmbralBytes.CFRAG_SIGNATURE_R);
        uint256 s = UmbralBytes.word(cfrag, UmbralBytes.CFRAG_SIGNATURE_S);
        // rust-umbral rejects r or s outside [1, N) and verifies low-S only.
        if (r == 0 || r >= Secp256k1.N || s == 0 || s > Secp256k1.HALF_N) return false;
        return _signedBy(kfragValidityDigest(cfrag, keys), r, s, vkX, vkOdd, vkY, hints);
    }

    /// @dev Whether (r, s), both in range, is a signature of `digest` by the proven point (vkX, vkY): by
    /// {_signatureByNoncePoint} when the hints carry its two words and they are right, else by `ecrecover` with
    /// each recovery id, the hinted one first.
    function _signedBy(
        bytes32 digest,
        uint256 r,
        uint256 s,
        uint256 vkX,
        bool vkOdd,
        uint256 vkY,
        bytes calldata hints
    ) private view returns (bool) {
        address signer = Secp256k1.pointAddress(vkX, vkY);
        // ecrecover returns 0 on failure; a key whose address is 0 (a 2^-160 event) must not match that.
        if (signer == address(0)) return false;
        if (hints.length == HINTS_LENGTH_PROVING) {
            uint256 w = UmbralBytes.word(hints, HINT_S_INVERSE);
            uint256 y = UmbralBytes.word(hints, HINT_NONCE_Y);
            (bool decided, bool valid) = _signatureByNoncePoint(digest, r, s, vkX, vkOdd, w, y);
            if (decided) return valid;
        }
        uint8 first = uint8(hints[HINT_RECOVERY_ID]) == 0 ? 27 : 28;
        if (ecrecover(digest, first, bytes32(r), bytes32(s)) == signer) return true;
        return ecrecover(digest, 55 - first, bytes32(r), bytes32(s)) == signer;
    }

    /// @dev ECDSA's own check, with one `ecrecover` whichever the signature: T = s⁻¹·e·G + s⁻¹·r·Q must have x = r
    /// (the same known limit as {kfragSignatureValid}: x = r + N is not looked for). `ecrecover(m, v, x_Q, s′)`
    /// returns the address of x_Q⁻¹·(s′·Q − m·G), Q being the verifying key (x_Q, parity v − 27), so
    /// s′ = r·s⁻¹·x_Q and m = −e·s⁻¹·x_Q give T; T is then compared with the two points of x = r, (r, ±y). The
    /// hints s⁻¹ (`w`) and `y` are checked (w·s = 1 mod N, y² = r³ + 7); `decided` is false when either is wrong
    /// or Q's x is not below N, and the caller then tries both recovery ids. Addresses compare 160 bits, as in
    /// {Secp256k1-isProduct}. r and s are in [1, N) (checked by the caller), Q is proven on the curve.
    function _signatureByNoncePoint(
        bytes32 digest,
        uint256 r,
        uint256 s,
        uint256 vkX,
        bool vkOdd,
        uint256 w,
        uint256 y
    ) private view returns (bool decided, bool valid) {
        if (vkX >= Secp256k1.N || mulmod(w, s, Secp256k1.N) != 1 || !Secp256k1.isOnCurve(r, y)) return (false, false);
        uint256 n = Secp256k1.N;
        address t;
        assembly ("memory-safe") {
            // ecrecover(m, v, x_Q, s′) in scratch memory at the free pointer, left unclaimed. r, w and x_Q are in
            // [1, N), so s′ != 0.
            let at := mload(0x40)
            let m := mulmod(mulmod(digest, w, n), vkX, n)
            if m {
                m := sub(n, m)
            }
            mstore(at, m)
            mstore(add(at, 0x20), add(27, vkOdd))
            mstore(add(at, 0x40), vkX)
            mstore(add(at, 0x60), mulmod(mulmod(r, w, n), vkX, n))
            mstore(0x00, 0)
            pop(staticcall(gas(), 0x01, at, 0x80, 0x00, 0x20))
            t := mload(0x00)
        }
        // 0: T is the point at infinity (every input is valid), which has no x: the signature is invalid.
        if (t == address(0)) return (true, false);
        return (true, t == Secp256k1.pointAddress(r, y) || t == Secp256k1.pointAddress(r, Secp256k1.P - y));
    }

    /// @dev Whether z·B = A + h·H for equation `eq`: (B, H, A) = (E, e1, e2), (V, v1, v2), (U, U1, u2), B read from
    /// the capsule (U is a constant), H and A from the cfrag, all at absolute calldata positions. z = 0 makes the
    /// left side the point at infinity: then the equation holds exactly when A = −h·H, and no z-product (which
    /// `ecrecover` cannot express) is needed.
    function _equationHolds(
        uint256 hintsAt,
        uint256 eq,
        uint256 capsuleAt,
        uint256 cfragAt,
        uint256 z,
        uint256 h
    ) private view returns (bool) {
        (bool finite, uint256 sx, uint256 sy) = _provenSum(hintsAt, eq, cfragAt, h);
        (uint256 bx, bool bOdd) = eq == 2 ? (U_X, true) : _pointAt(capsuleAt + eq * 33); // E at 0, V at 33
        // z = 0 puts the left side at infinity; z != 0 keeps it finite (B has prime order N).
        if (z == 0 || !finite) {
            // No z-product to prove B on the curve here (U is a constant): decompress it, a cheater's rare path.
            if (eq != 2) Secp256k1.liftX(bx, bOdd);
            return z == 0 && !finite;
        }
        return Secp256k1.isProduct(bx, bOdd, z, sx, sy);
    }

    /// @dev A + h·H for equation `eq`, every input proven: h·H against its hint, then the slope (and A's y with it).
    function _provenSum(
        uint256 hintsAt,
        uint256 eq,
        uint256 cfragAt,
        uint256 h
    ) private view returns (bool finite, uint256 x, uint256 y) {
        uint256 productAt = hintsAt + HINT_PRODUCTS + eq * 64;
        uint256 slope = _load(hintsAt + HINT_SLOPES + eq * 32);
        (uint256 hBase, uint256 addend) = _fieldsOf(eq);
        _requireProductAt(cfragAt + hBase, h, productAt);
        return _addAt(cfragAt + addend, productAt, slope);
    }

    /// @dev {Secp256k1.addCompressed} of the compressed point at `pointAt` and the proven product at `productAt`.
    function _addAt(
        uint256 pointAt,
        uint256 productAt,
        uint256 slope
    ) private view returns (bool finite, uint256 x, uint256 y) {
        (uint256 ax, bool aOdd) = _pointAt(pointAt);
        return Secp256k1.addCompressed(ax, aOdd, _load(productAt), _load(productAt + 32), slope);
    }

    /// @dev Offsets in the cfrag of H and A for equation `eq`.
    function _fieldsOf(uint256 eq) private pure returns (uint256 hBase, uint256 addend) {
        if (eq == 0) return (UmbralBytes.CFRAG_E1, UmbralBytes.CFRAG_E2);
        if (eq == 1) return (UmbralBytes.CFRAG_V1, UmbralBytes.CFRAG_V2);
        return (UmbralBytes.CFRAG_U1, UmbralBytes.CFRAG_U2);
    }

    /// @dev {Secp256k1.requireProduct} for the compressed point at `pointAt` and the (x, y) hint at `hintAt`.
    function _requireProductAt(uint256 pointAt, uint256 k, uint256 hintAt) private view {
        (uint256 x, bool odd) = _pointAt(pointAt);
        Secp256k1.requireProduct(x, odd, k, _load(hintAt), _load(hintAt + 32));
    }

    /// @dev Proves the compressed point at `offset` of `data` (input `what`) on the curve with the y hint at
    /// `hintAt`: {Secp256k1.requireY} reverts with {Secp256k1.PointNotOnCurve} if the point has no y, and with
    /// {Secp256k1.WrongYHint} if only the hint is wrong (three multiplications; a decompression would cost a modexp).
    function _requireHintedY(
        bytes calldata data,
        uint256 offset,
        uint8 what,
        bytes calldata hints,
        uint256 hintAt
    ) private view {
        (uint256 x, bool odd) = UmbralBytes.point(data, offset, what);
        Secp256k1.requireY(x, odd, UmbralBytes.word(hints, hintAt));
    }

    /// @dev The 32-byte word at absolute calldata position `at`.
    function _load(uint256 at) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(at)
        }
    }

    /// @dev The compressed point at absolute calldata position `at`, already checked canonical.
    function _pointAt(uint256 at) private pure returns (uint256 x, bool odd) {
        assembly ("memory-safe") {
            odd := eq(byte(0, calldataload(at)), 3)
            x := calldataload(add(at, 1))
        }
    }
}
