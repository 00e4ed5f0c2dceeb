// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ICredentialAnchor} from "./ICredentialAnchor.sol";

/**
 * @title CredentialAnchor
 * @notice On-chain registry of Merkle roots of Open Badges micro-credential batches
 * (events, errors and the documentation of every function: {ICredentialAnchor}).
 *
 * An administrator accredits issuers. An accredited issuer hashes each credential to a
 * `credentialHash`, builds an OpenZeppelin `StandardMerkleTree` over `[credentialHash]`
 * leaves of type `bytes32`, and anchors only the root together with the batch size. Anyone
 * can then check a credential with {verify}: the issuer the credential names must have
 * anchored the root, the proof must lead from the credential's leaf to the root, and neither
 * the batch nor the credential may have been revoked.
 *
 * Anchors and batch revocations are keyed by (issuer, root). An accredited issuer that copies
 * another issuer's pending `anchor(root, count)` from the mempool and gets it mined first
 * (front-running) records the root under its own address only: the victim's transaction
 * still succeeds, and {verify} under the victim's address is unaffected.
 *
 * Leaves are derived on chain from the `credentialHash` (see {leafOf}); callers never pass a
 * leaf. Since a leaf is a double keccak256 of a 32-byte value and an inner node is a single
 * keccak256 of 64 bytes, an inner node of a tree cannot be passed off as a credential.
 *
 * WARNING: this contract only attributes and timestamps roots. It does NOT protect against:
 *
 * - A verifier asking about the wrong issuer. Several issuers may anchor the same root; the
 *   one that counts is the issuer the credential itself names (inside its hashed bytes).
 *   Verifiers MUST pass that issuer's account to {verify}, never an address taken from
 *   unhashed data alone (a holder file's proof can be edited by anyone).
 * - Forged or wrong credential contents. The contract never sees a credential: verifiers
 *   MUST recompute `credentialHash` from the presented document themselves.
 * - A stolen issuer key, until the administrator suspends the issuer and revokes the
 *   affected batches with {revokeBatch}. Suspension alone does not invalidate batches that
 *   were already anchored: {verify} still returns `Valid` with `issuerActive == false`.
 * - A malicious or compromised administrator, who can accredit any address, set any profile
 *   (name, URI, DID) and revoke any batch (but can neither alter nor remove an anchor, nor
 *   undo a revocation).
 * - Disclosure. Roots, batch sizes and revoked `credentialHash`es are public: a credential
 *   hash must not be computable from guessable data (salt credentials before hashing).
 * - Clock skew. Timestamps are `block.timestamp`, chosen by the block proposer within the
 *   protocol's bounds.
 */
contract CredentialAnchor is ICredentialAnchor, AccessControl {
    // The first slot of an issuer record (active, everAccredited, accreditedAt, suspendedAt) is
    // all that anchor() and the revocation functions read: one cold SLOAD per transaction.
    struct IssuerRecord {
        bool active;
        bool everAccredited;
        uint64 accreditedAt;
        uint64 suspendedAt;
        string name;
        string profileURI;
        string did;
    }

    // 1 + 8 + 4 bytes: exactly one storage slot, written once by anchor(). The issuer is the
    // mapping key, so the record need not repeat it; `anchored` makes existence explicit.
    struct AnchorRecord {
        bool anchored;
        uint64 anchoredAt;
        uint32 count;
    }

    struct BatchRevocationRecord {
        address by;
        uint64 revokedAt;
        uint8 reason;
    }

    uint256 private constant _REVOKED_FLAG = 1 << 72;

    mapping(address issuer => IssuerRecord) private _issuers;
    mapping(address issuer => mapping(bytes32 root => AnchorRecord)) private _anchors;
    mapping(address issuer => mapping(bytes32 root => BatchRevocationRecord)) private _batchRevocations;
    // A credential revocation is packed by hand in one word (see _packRevocation): assigning a
    // struct would re-read the slot before writing it, which costs the bulk revocation ~100 gas
    // per hash. Zero means "not revoked".
    mapping(address issuer => mapping(bytes32 credentialHash => uint256 packedRevocation))
        private _credentialRevocations;

    /// @notice The deployer becomes the only admin (`DEFAULT_ADMIN_ROLE`).
    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    // ------------------------------------------------------------------ accreditation

    /// @inheritdoc ICredentialAnchor
    function accreditIssuer(
        address issuer,
        string calldata name,
        string calldata profileURI,
        string calldata did
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (issuer == address(0)) revert CredentialAnchorZeroAddress();
        IssuerRecord storage record = _issuers[issuer];
        if (record.active) revert CredentialAnchorIssuerAlreadyActive(issuer);
        bool again = record.everAccredited;
        record.active = true;
        record.everAccredited = true;
        record.accreditedAt = uint64(block.timestamp);
        record.suspendedAt = 0;
        _setProfile(record, name, profileURI, did);
        if (again) {
            emit IssuerReactivated(issuer, name, profileURI, did);
        } else {
            emit IssuerAccredited(issuer, name, profileURI, did);
        }
    }

    /// @inheritdoc ICredentialAnchor
    function updateIssuerProfile(
        address issuer,
        string calldata name,
        string calldata profileURI,
        string calldata did
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerRecord storage record = _issuers[issuer];
        if (!record.everAccredited) revert CredentialAnchorNeverAccredited(issuer);
        _setProfile(record, name, profileURI, did);
        emit IssuerProfileUpdated(issuer, name, profileURI, did);
    }

    /// @inheritdoc ICredentialAnchor
    function suspendIssuer(address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerRecord storage record = _issuers[issuer];
        if (!record.active) revert CredentialAnchorIssuerNotActive(issuer);
        record.active = false;
        record.suspendedAt = uint64(block.timestamp);
        emit IssuerSuspended(issuer);
    }

    /// @inheritdoc ICredentialAnchor
    function issuerInfo(
        address issuer
    )
        external
        view
        returns (
            string memory name,
            string memory profileURI,
            string memory did,
            bool active,
            uint64 accreditedAt,
            uint64 suspendedAt
        )
    {
        IssuerRecord storage record = _issuers[issuer];
        return (record.name, record.profileURI, record.did, record.active, record.accreditedAt, record.suspendedAt);
    }

    // ------------------------------------------------------------------ anchoring

    /// @inheritdoc ICredentialAnchor
    function anchor(bytes32 root, uint32 count) external {
        if (!_issuers[msg.sender].active) revert CredentialAnchorIssuerNotAccredited(msg.sender);
        if (root == bytes32(0)) revert CredentialAnchorZeroRoot();
        if (count == 0) revert CredentialAnchorZeroCount(root);
        AnchorRecord storage record = _anchors[msg.sender][root];
        if (record.anchored) revert CredentialAnchorRootAlreadyAnchored(root, msg.sender);
        record.anchored = true;
        record.anchoredAt = uint64(block.timestamp);
        record.count = count;
        emit Anchored(root, msg.sender, count);
    }

    /// @inheritdoc ICredentialAnchor
    function anchorOf(
        address issuer,
        bytes32 root
    ) external view returns (bool anchored, uint64 anchoredAt, uint32 count) {
        AnchorRecord storage record = _anchors[issuer][root];
        return (record.anchored, record.anchoredAt, record.count);
    }

    /// @inheritdoc ICredentialAnchor
    function leafOf(bytes32 credentialHash) external pure returns (bytes32) {
        return _leafOf(credentialHash);
    }

    // ------------------------------------------------------------------ revocation

    /// @inheritdoc ICredentialAnchor
    function revokeCredential(bytes32 credentialHash, uint8 reason) external {
        _requireEverAccredited(msg.sender);
        if (!_revoke(_credentialRevocations[msg.sender], credentialHash, _packRevocation(reason), reason)) {
            revert CredentialAnchorCredentialAlreadyRevoked(msg.sender, credentialHash);
        }
    }

    /// @inheritdoc ICredentialAnchor
    function revokeCredentials(bytes32[] calldata credentialHashes, uint8 reason) external {
        _requireEverAccredited(msg.sender);
        uint256 length = credentialHashes.length;
        if (length == 0) revert CredentialAnchorEmptyList();
        mapping(bytes32 => uint256) storage revoked = _credentialRevocations[msg.sender];
        uint256 packed = _packRevocation(reason);
        for (uint256 i = 0; i < length; ++i) {
            _revoke(revoked, credentialHashes[i], packed, reason);
        }
    }

    /// @inheritdoc ICredentialAnchor
    function revokeBatch(address issuer, bytes32 root, uint8 reason) external {
        if (!_anchors[issuer][root].anchored) revert CredentialAnchorRootNotAnchored(root, issuer);
        if (msg.sender != issuer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert CredentialAnchorNotRootIssuer(root, msg.sender);
        }
        BatchRevocationRecord storage record = _batchRevocations[issuer][root];
        if (record.by != address(0)) revert CredentialAnchorBatchAlreadyRevoked(root, issuer);
        record.by = msg.sender;
        record.revokedAt = uint64(block.timestamp);
        record.reason = reason;
        emit BatchRevoked(root, issuer, msg.sender, reason);
    }

    /// @inheritdoc ICredentialAnchor
    function credentialRevocation(
        address issuer,
        bytes32 credentialHash
    ) external view returns (uint64 revokedAt, uint8 reason) {
        uint256 packed = _credentialRevocations[issuer][credentialHash];
        return (uint64(packed), uint8(packed >> 64));
    }

    /// @inheritdoc ICredentialAnchor
    function batchRevocation(
        address issuer,
        bytes32 root
    ) external view returns (address by, uint64 revokedAt, uint8 reason) {
        BatchRevocationRecord storage record = _batchRevocations[issuer][root];
        return (record.by, record.revokedAt, record.reason);
    }

    // ------------------------------------------------------------------ verification

    /// @inheritdoc ICredentialAnchor
    function verify(
        address issuer,
        bytes32 credentialHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (Status status, uint64 anchoredAt, bool issuerActive) {
        AnchorRecord storage record = _anchors[issuer][root];
        issuerActive = _issuers[issuer].active;
        if (!record.anchored) return (Status.NotAnchored, 0, issuerActive);
        anchoredAt = record.anchoredAt;

        if (!MerkleProof.verifyCalldata(proof, root, _leafOf(credentialHash))) {
            status = Status.InvalidProof;
        } else if (_batchRevocations[issuer][root].by != address(0)) {
            status = Status.BatchRevoked;
        } else if (_credentialRevocations[issuer][credentialHash] != 0) {
            status = Status.CredentialRevoked;
        } else {
            status = Status.Valid;
        }
    }

    // ------------------------------------------------------------------ ERC-165

    /// @notice True for {ICredentialAnchor}, `IAccessControl` and `IERC165`.
    /// @param interfaceId An ERC-165 interface identifier.
    /// @return Whether this contract implements `interfaceId`.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ICredentialAnchor).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    function _setProfile(
        IssuerRecord storage record,
        string calldata name,
        string calldata profileURI,
        string calldata did
    ) private {
        if (bytes(name).length == 0) revert CredentialAnchorEmptyName();
        if (bytes(did).length == 0) revert CredentialAnchorEmptyDid();
        record.name = name;
        record.profileURI = profileURI;
        record.did = did;
    }

    /// @dev Records `packed` for `credentialHash` in `revoked` (the caller's revocations) and
    /// emits {CredentialRevoked}, unless it is already there. The one place a credential is
    /// revoked, for {revokeCredential} and {revokeCredentials} alike.
    /// @return Whether the hash was newly revoked.
    function _revoke(
        mapping(bytes32 => uint256) storage revoked,
        bytes32 credentialHash,
        uint256 packed,
        uint8 reason
    ) private returns (bool) {
        if (revoked[credentialHash] != 0) return false;
        revoked[credentialHash] = packed;
        emit CredentialRevoked(msg.sender, credentialHash, reason);
        return true;
    }

    function _requireEverAccredited(address account) private view {
        if (!_issuers[account].everAccredited) revert CredentialAnchorNeverAccredited(account);
    }

    /// @dev Layout of a `_credentialRevocations` value: bits 0-63 revokedAt, bits 64-71 reason,
    /// bit 72 set, so that a revocation is never zero whatever the timestamp and reason.
    function _packRevocation(uint8 reason) private view returns (uint256) {
        return uint256(uint64(block.timestamp)) | (uint256(reason) << 64) | _REVOKED_FLAG;
    }

    function _leafOf(bytes32 credentialHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(credentialHash))));
    }
}
