// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title CredentialAnchor
 * @notice On-chain registry of Merkle roots of Open Badges micro-credential batches.
 *
 * An administrator accredits issuers. An accredited issuer hashes each credential to a
 * `credentialHash`, builds an OpenZeppelin `StandardMerkleTree` over `[credentialHash]`
 * leaves of type `bytes32`, and anchors only the root together with the batch size. Anyone
 * can then check a credential with {verify}: the root must be anchored, the proof must lead
 * from the credential's leaf to the root, and neither the batch nor the credential may have
 * been revoked.
 *
 * Leaves are derived on chain from the `credentialHash` (see {leafOf}); callers never pass a
 * leaf. Since a leaf is a double keccak256 of a 32-byte value and an inner node is a single
 * keccak256 of 64 bytes, an inner node of a tree cannot be passed off as a credential.
 *
 * WARNING: this contract only attributes and timestamps roots. It does NOT protect against:
 *
 * - A root claimed by the wrong issuer. Roots are first come, first served: any accredited
 *   issuer can anchor any root, including one copied from another issuer's pending
 *   transaction (front-running). {verify} reports who anchored the root; verifiers MUST
 *   compare that address with the issuer the credential itself names. An issuer whose
 *   anchor reverts with {CredentialAnchorRootAlreadyAnchored} must rebuild its batch.
 * - Forged or wrong credential contents. The contract never sees a credential: verifiers
 *   MUST recompute `credentialHash` from the presented document themselves.
 * - A stolen issuer key, until the administrator suspends the issuer and revokes the
 *   affected batches with {revokeBatch}. Suspension alone does not invalidate batches that
 *   were already anchored: {verify} still returns `Valid` with `issuerActive == false`.
 * - A malicious or compromised administrator, who can accredit any address and revoke any
 *   batch (but can neither alter nor remove an anchor, nor undo a revocation).
 * - Disclosure. Roots, batch sizes and revoked `credentialHash`es are public: a credential
 *   hash must not be computable from guessable data (salt credentials before hashing).
 * - Clock skew. Timestamps are `block.timestamp`, chosen by the block proposer within the
 *   protocol's bounds.
 */
contract CredentialAnchor is AccessControl {
    /**
     * @notice Outcome of {verify}, checked in this order: `UnknownRoot`, `InvalidProof`,
     * `BatchRevoked`, `CredentialRevoked`, otherwise `Valid`.
     */
    enum Status {
        Valid,
        UnknownRoot,
        InvalidProof,
        CredentialRevoked,
        BatchRevoked
    }

    // The first slot of an issuer record (active, everAccredited, accreditedAt, suspendedAt) is
    // all that anchor() and the revocation functions read: one cold SLOAD per transaction.
    struct IssuerRecord {
        bool active;
        bool everAccredited;
        uint64 accreditedAt;
        uint64 suspendedAt;
        string name;
        string profileURI;
    }

    // 20 + 8 + 4 bytes: exactly one storage slot, written once by anchor().
    struct AnchorRecord {
        address issuer;
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
    mapping(bytes32 root => AnchorRecord) private _anchors;
    mapping(bytes32 root => BatchRevocationRecord) private _batchRevocations;
    // A credential revocation is packed by hand in one word (see _packRevocation): assigning a
    // struct would re-read the slot before writing it, which costs the bulk revocation ~100 gas
    // per hash. Zero means "not revoked".
    mapping(address issuer => mapping(bytes32 credentialHash => uint256 packedRevocation))
        private _credentialRevocations;

    /// @notice `issuer` was accredited, re-activated after a suspension, or had its profile updated.
    event IssuerAccredited(address indexed issuer, string name, string profileURI);

    /// @notice `issuer` may no longer anchor roots (it may still revoke).
    event IssuerSuspended(address indexed issuer);

    /// @notice `issuer` anchored the Merkle `root` of a batch of `count` credentials.
    event Anchored(bytes32 indexed root, address indexed issuer, uint32 count);

    /// @notice `issuer` revoked the credential `credentialHash` in all of its own batches.
    event CredentialRevoked(address indexed issuer, bytes32 indexed credentialHash, uint8 reason);

    /// @notice Every credential under `root` was revoked by `by` (the root's issuer or an admin).
    event BatchRevoked(bytes32 indexed root, address indexed by, uint8 reason);

    /// @notice A zero root cannot be anchored.
    error CredentialAnchorZeroRoot();

    /// @notice A batch of zero credentials cannot be anchored under `root`.
    error CredentialAnchorZeroCount(bytes32 root);

    /// @notice `root` was already anchored by `issuer`.
    error CredentialAnchorRootAlreadyAnchored(bytes32 root, address issuer);

    /// @notice `account` is not a currently accredited issuer.
    error CredentialAnchorIssuerNotAccredited(address account);

    /// @notice `account` has never been accredited, so it has nothing to revoke.
    error CredentialAnchorNeverAccredited(address account);

    /// @notice `root` has not been anchored.
    error CredentialAnchorUnknownRoot(bytes32 root);

    /// @notice `caller` is neither the issuer of `root` nor an admin.
    error CredentialAnchorNotRootIssuer(bytes32 root, address caller);

    /// @notice `issuer` has already revoked `credentialHash`.
    error CredentialAnchorCredentialAlreadyRevoked(address issuer, bytes32 credentialHash);

    /// @notice The batch under `root` has already been revoked.
    error CredentialAnchorBatchAlreadyRevoked(bytes32 root);

    /// @notice The zero address cannot be accredited.
    error CredentialAnchorZeroAddress();

    /// @notice An issuer must have a non-empty name.
    error CredentialAnchorEmptyName();

    /// @notice `issuer` is not currently active, so it cannot be suspended.
    error CredentialAnchorIssuerNotActive(address issuer);

    /// @notice A bulk revocation needs at least one credential hash.
    error CredentialAnchorEmptyList();

    /// @notice The deployer becomes the only admin (`DEFAULT_ADMIN_ROLE`).
    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    // ------------------------------------------------------------------ accreditation

    /**
     * @notice Accredits `issuer`, re-activates it after a suspension, or updates the name and
     * profile URI of an active issuer.
     * @dev `accreditedAt` is set (and `suspendedAt` cleared) only when the issuer was not
     * active; an update of an active issuer keeps its accreditation time.
     * Admin only. Emits {IssuerAccredited}.
     * @param issuer Address the issuer anchors and revokes from.
     * @param name Human-readable issuer name; must not be empty.
     * @param profileURI Where the issuer's Open Badges profile is published (may be empty).
     */
    function accreditIssuer(
        address issuer,
        string calldata name,
        string calldata profileURI
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (issuer == address(0)) revert CredentialAnchorZeroAddress();
        if (bytes(name).length == 0) revert CredentialAnchorEmptyName();
        IssuerRecord storage record = _issuers[issuer];
        if (!record.active) {
            record.active = true;
            record.everAccredited = true;
            record.accreditedAt = uint64(block.timestamp);
            record.suspendedAt = 0;
        }
        record.name = name;
        record.profileURI = profileURI;
        emit IssuerAccredited(issuer, name, profileURI);
    }

    /**
     * @notice Stops `issuer` from anchoring new roots. Its existing anchors stay valid (see
     * {revokeBatch}) and it may still revoke its credentials.
     * @dev Admin only. Reverts with {CredentialAnchorIssuerNotActive} unless `issuer` is
     * active. Emits {IssuerSuspended}.
     * @param issuer The issuer to suspend.
     */
    function suspendIssuer(address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IssuerRecord storage record = _issuers[issuer];
        if (!record.active) revert CredentialAnchorIssuerNotActive(issuer);
        record.active = false;
        record.suspendedAt = uint64(block.timestamp);
        emit IssuerSuspended(issuer);
    }

    /**
     * @notice Accreditation record of `issuer`; all zero for an address never accredited.
     * @return name Issuer name.
     * @return profileURI Issuer profile URI.
     * @return active Whether `issuer` may anchor now.
     * @return accreditedAt Start of the current (or last) accreditation period.
     * @return suspendedAt When the issuer was suspended; zero while active.
     */
    function issuerInfo(
        address issuer
    )
        external
        view
        returns (
            string memory name,
            string memory profileURI,
            bool active,
            uint64 accreditedAt,
            uint64 suspendedAt
        )
    {
        IssuerRecord storage record = _issuers[issuer];
        return (record.name, record.profileURI, record.active, record.accreditedAt, record.suspendedAt);
    }

    // ------------------------------------------------------------------ anchoring

    /**
     * @notice Anchors the Merkle `root` of a batch of `count` credentials under the caller.
     * @dev Active issuers only. A root can be anchored once, by one issuer, ever.
     * Emits {Anchored}.
     * @param root Root of the `StandardMerkleTree` of `[credentialHash]` leaves.
     * @param count Number of credentials in the batch (informational, must be non-zero).
     */
    function anchor(bytes32 root, uint32 count) external {
        if (!_issuers[msg.sender].active) revert CredentialAnchorIssuerNotAccredited(msg.sender);
        if (root == bytes32(0)) revert CredentialAnchorZeroRoot();
        if (count == 0) revert CredentialAnchorZeroCount(root);
        AnchorRecord storage record = _anchors[root];
        address existing = record.issuer;
        if (existing != address(0)) revert CredentialAnchorRootAlreadyAnchored(root, existing);
        record.issuer = msg.sender;
        record.anchoredAt = uint64(block.timestamp);
        record.count = count;
        emit Anchored(root, msg.sender, count);
    }

    /**
     * @notice Who anchored `root`, when, and how many credentials it covers; all zero if unknown.
     * @return issuer The issuer that anchored `root`.
     * @return anchoredAt Block timestamp of the anchoring.
     * @return count Batch size declared by the issuer.
     */
    function anchorOf(bytes32 root) external view returns (address issuer, uint64 anchoredAt, uint32 count) {
        AnchorRecord storage record = _anchors[root];
        return (record.issuer, record.anchoredAt, record.count);
    }

    /**
     * @notice The Merkle leaf of a credential: the `StandardMerkleTree` leaf of
     * `[credentialHash]` with leaf encoding `["bytes32"]`.
     * @param credentialHash Hash identifying the credential.
     * @return The leaf, `keccak256(bytes.concat(keccak256(abi.encode(credentialHash))))`.
     */
    function leafOf(bytes32 credentialHash) external pure returns (bytes32) {
        return _leafOf(credentialHash);
    }

    // ------------------------------------------------------------------ revocation

    /**
     * @notice Revokes `credentialHash` in every batch the caller anchored.
     * @dev Recorded under the caller only: it never affects another issuer's batches.
     * Callable by any address ever accredited, including a suspended issuer.
     * Emits {CredentialRevoked}.
     * @param credentialHash The credential to revoke.
     * @param reason Application-defined reason code, stored and emitted as given.
     */
    function revokeCredential(bytes32 credentialHash, uint8 reason) external {
        _requireEverAccredited(msg.sender);
        mapping(bytes32 => uint256) storage revoked = _credentialRevocations[msg.sender];
        if (revoked[credentialHash] != 0) revert CredentialAnchorCredentialAlreadyRevoked(msg.sender, credentialHash);
        revoked[credentialHash] = _packRevocation(reason);
        emit CredentialRevoked(msg.sender, credentialHash, reason);
    }

    /**
     * @notice Revokes every hash of `credentialHashes` in every batch the caller anchored.
     * @dev Same rules as {revokeCredential}, except that hashes the caller already revoked
     * (including duplicates within the list) are skipped without an event, so a retried list
     * is harmless. Emits one {CredentialRevoked} per newly revoked hash.
     * @param credentialHashes The credentials to revoke; must not be empty.
     * @param reason Application-defined reason code applied to every newly revoked hash.
     */
    function revokeCredentials(bytes32[] calldata credentialHashes, uint8 reason) external {
        _requireEverAccredited(msg.sender);
        uint256 length = credentialHashes.length;
        if (length == 0) revert CredentialAnchorEmptyList();
        mapping(bytes32 => uint256) storage revoked = _credentialRevocations[msg.sender];
        uint256 packed = _packRevocation(reason);
        for (uint256 i = 0; i < length; ++i) {
            bytes32 credentialHash = credentialHashes[i];
            if (revoked[credentialHash] == 0) {
                revoked[credentialHash] = packed;
                emit CredentialRevoked(msg.sender, credentialHash, reason);
            }
        }
    }

    /**
     * @notice Revokes every credential under `root`.
     * @dev Callable by the issuer that anchored `root` (even if suspended) or by an admin,
     * e.g. after an issuer key was compromised. Emits {BatchRevoked}.
     * @param root An anchored root.
     * @param reason Application-defined reason code, stored and emitted as given.
     */
    function revokeBatch(bytes32 root, uint8 reason) external {
        address issuer = _anchors[root].issuer;
        if (issuer == address(0)) revert CredentialAnchorUnknownRoot(root);
        if (msg.sender != issuer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert CredentialAnchorNotRootIssuer(root, msg.sender);
        }
        if (_batchRevocations[root].by != address(0)) revert CredentialAnchorBatchAlreadyRevoked(root);
        _batchRevocations[root] = BatchRevocationRecord({
            by: msg.sender,
            revokedAt: uint64(block.timestamp),
            reason: reason
        });
        emit BatchRevoked(root, msg.sender, reason);
    }

    /**
     * @notice Whether `issuer` revoked `credentialHash`; zeros if it did not.
     * @return revokedAt Block timestamp of the revocation.
     * @return reason Reason code given at revocation.
     */
    function credentialRevocation(
        address issuer,
        bytes32 credentialHash
    ) external view returns (uint64 revokedAt, uint8 reason) {
        uint256 packed = _credentialRevocations[issuer][credentialHash];
        return (uint64(packed), uint8(packed >> 64));
    }

    /**
     * @notice Whether the batch under `root` was revoked; zeros if it was not.
     * @return by The issuer or admin that revoked it.
     * @return revokedAt Block timestamp of the revocation.
     * @return reason Reason code given at revocation.
     */
    function batchRevocation(bytes32 root) external view returns (address by, uint64 revokedAt, uint8 reason) {
        BatchRevocationRecord storage record = _batchRevocations[root];
        return (record.by, record.revokedAt, record.reason);
    }

    // ------------------------------------------------------------------ verification

    /**
     * @notice Checks a credential against an anchored batch in one call.
     * @dev Checks, in order: `root` anchored, `proof` valid for {leafOf}(`credentialHash`),
     * batch not revoked, credential not revoked by the root's issuer. The caller must still
     * check that `issuer` is the issuer the credential names (see the contract WARNING).
     * @param credentialHash Hash identifying the credential.
     * @param proof `StandardMerkleTree` proof of the credential's leaf.
     * @param root The batch root the credential claims to belong to.
     * @return status See {Status}.
     * @return issuer The issuer that anchored `root` (zero if unknown).
     * @return anchoredAt When `root` was anchored (zero if unknown).
     * @return issuerActive Whether that issuer is accredited now (false if unknown).
     */
    function verify(
        bytes32 credentialHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (Status status, address issuer, uint64 anchoredAt, bool issuerActive) {
        AnchorRecord storage record = _anchors[root];
        issuer = record.issuer;
        if (issuer == address(0)) return (Status.UnknownRoot, address(0), 0, false);
        anchoredAt = record.anchoredAt;
        issuerActive = _issuers[issuer].active;

        if (!MerkleProof.verifyCalldata(proof, root, _leafOf(credentialHash))) {
            status = Status.InvalidProof;
        } else if (_batchRevocations[root].by != address(0)) {
            status = Status.BatchRevoked;
        } else if (_credentialRevocations[issuer][credentialHash] != 0) {
            status = Status.CredentialRevoked;
        } else {
            status = Status.Valid;
        }
    }

    // ------------------------------------------------------------------ internals

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
