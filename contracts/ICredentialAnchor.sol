// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/**
 * @title ICredentialAnchor
 * @notice Events, errors and external functions of the credanchor registry of Merkle roots of
 * Open Badges micro-credential batches (implemented by {CredentialAnchor}).
 *
 * An administrator accredits issuers. An accredited issuer hashes each credential to a
 * `credentialHash`, builds an OpenZeppelin `StandardMerkleTree` over `[credentialHash]`
 * leaves of type `bytes32`, and anchors only the root together with the batch size.
 *
 * Everything about a batch is keyed by **(issuer, root)**: an anchor is recorded under the
 * account that sent it, a batch revocation under the same pair, and {verify} takes the issuer
 * the credential names. Another issuer that copies a pending `anchor(root, count)` from the
 * mempool (front-running) therefore only records the root under its own address: the victim's
 * transaction still succeeds, and credentials are never credited to the copier.
 */
interface ICredentialAnchor {
    /**
     * @notice Outcome of {verify}, checked in this order: `NotAnchored`, `InvalidProof`,
     * `BatchRevoked`, `CredentialRevoked`, otherwise `Valid`.
     */
    enum Status {
        Valid,
        NotAnchored,
        InvalidProof,
        CredentialRevoked,
        BatchRevoked
    }

    // ---------------------------------------------------------------------------- events

    /// @notice `issuer` was accredited for the first time, with this profile.
    event IssuerAccredited(address indexed issuer, string name, string profileURI, string did);

    /// @notice `issuer`, suspended until now, was accredited again, with this profile.
    event IssuerReactivated(address indexed issuer, string name, string profileURI, string did);

    /// @notice The profile of `issuer` was replaced by this one (its accreditation is unchanged).
    event IssuerProfileUpdated(address indexed issuer, string name, string profileURI, string did);

    /// @notice `issuer` may no longer anchor roots (it may still revoke).
    event IssuerSuspended(address indexed issuer);

    /// @notice `issuer` anchored the Merkle `root` of a batch of `count` credentials.
    event Anchored(bytes32 indexed root, address indexed issuer, uint32 count);

    /// @notice `issuer` revoked the credential `credentialHash` in all of its own batches.
    event CredentialRevoked(address indexed issuer, bytes32 indexed credentialHash, uint8 reason);

    /// @notice Every credential of `issuer`'s batch `root` was revoked by `by` (that issuer or an admin).
    event BatchRevoked(bytes32 indexed root, address indexed issuer, address indexed by, uint8 reason);

    // ---------------------------------------------------------------------------- errors

    /// @notice A zero root cannot be anchored.
    error CredentialAnchorZeroRoot();

    /// @notice A batch of zero credentials cannot be anchored under `root`.
    error CredentialAnchorZeroCount(bytes32 root);

    /// @notice `issuer` has already anchored `root`.
    error CredentialAnchorRootAlreadyAnchored(bytes32 root, address issuer);

    /// @notice `account` is not a currently accredited issuer.
    error CredentialAnchorIssuerNotAccredited(address account);

    /// @notice `account` has never been accredited, so it has nothing to revoke or update.
    error CredentialAnchorNeverAccredited(address account);

    /// @notice `issuer` has not anchored `root`.
    error CredentialAnchorRootNotAnchored(bytes32 root, address issuer);

    /// @notice `caller` is neither the issuer of the batch `root` nor an admin.
    error CredentialAnchorNotRootIssuer(bytes32 root, address caller);

    /// @notice `issuer` has already revoked `credentialHash`.
    error CredentialAnchorCredentialAlreadyRevoked(address issuer, bytes32 credentialHash);

    /// @notice `issuer`'s batch `root` has already been revoked.
    error CredentialAnchorBatchAlreadyRevoked(bytes32 root, address issuer);

    /// @notice The zero address cannot be accredited.
    error CredentialAnchorZeroAddress();

    /// @notice An issuer must have a non-empty name.
    error CredentialAnchorEmptyName();

    /// @notice An issuer must have a non-empty DID.
    error CredentialAnchorEmptyDid();

    /// @notice `issuer` is already active: update its profile with {updateIssuerProfile}.
    error CredentialAnchorIssuerAlreadyActive(address issuer);

    /// @notice `issuer` is not currently active, so it cannot be suspended.
    error CredentialAnchorIssuerNotActive(address issuer);

    /// @notice A bulk revocation needs at least one credential hash.
    error CredentialAnchorEmptyList();

    // ---------------------------------------------------------------------- accreditation

    /**
     * @notice Accredits `issuer`, or accredits again an issuer that was suspended, with the
     * given profile.
     * @dev Admin only. Sets `accreditedAt` to now and clears `suspendedAt`. Emits
     * {IssuerAccredited} the first time, {IssuerReactivated} after a suspension. Reverts with
     * {CredentialAnchorIssuerAlreadyActive} for an active issuer, so that a profile change can
     * never re-activate a suspended issuer by accident (and vice versa).
     * @param issuer Address the issuer anchors and revokes from.
     * @param name Human-readable issuer name; must not be empty.
     * @param profileURI Where the issuer's Open Badges profile is published (may be empty).
     * @param did The DID the issuer names itself by in its credentials; must not be empty.
     */
    function accreditIssuer(address issuer, string calldata name, string calldata profileURI, string calldata did)
        external;

    /**
     * @notice Replaces the name, profile URI and DID of an issuer ever accredited, active or
     * suspended, without changing its accreditation.
     * @dev Admin only. Emits {IssuerProfileUpdated}.
     * @param issuer An address accredited at some point.
     * @param name Human-readable issuer name; must not be empty.
     * @param profileURI Where the issuer's Open Badges profile is published (may be empty).
     * @param did The DID the issuer names itself by in its credentials; must not be empty.
     */
    function updateIssuerProfile(
        address issuer,
        string calldata name,
        string calldata profileURI,
        string calldata did
    ) external;

    /**
     * @notice Stops `issuer` from anchoring new roots. Its existing anchors stay valid (see
     * {revokeBatch}) and it may still revoke its credentials.
     * @dev Admin only. Reverts with {CredentialAnchorIssuerNotActive} unless `issuer` is
     * active. Emits {IssuerSuspended}.
     * @param issuer The issuer to suspend.
     */
    function suspendIssuer(address issuer) external;

    /**
     * @notice Accreditation record of `issuer`; all zero for an address never accredited.
     * @return name Issuer name.
     * @return profileURI Issuer profile URI.
     * @return did The DID the issuer names itself by in its credentials.
     * @return active Whether `issuer` may anchor now.
     * @return accreditedAt Start of the current (or last) accreditation period.
     * @return suspendedAt When the issuer was suspended; zero while active.
     */
    function issuerInfo(address issuer)
        external
        view
        returns (
            string memory name,
            string memory profileURI,
            string memory did,
            bool active,
            uint64 accreditedAt,
            uint64 suspendedAt
        );

    // ---------------------------------------------------------------------------- anchoring

    /**
     * @notice Anchors the Merkle `root` of a batch of `count` credentials under the caller.
     * @dev Active issuers only. Each issuer can anchor a given root once; other issuers
     * anchoring the same root (a copied transaction, say) neither block nor affect it.
     * Emits {Anchored}.
     * @param root Root of the `StandardMerkleTree` of `[credentialHash]` leaves.
     * @param count Number of credentials in the batch (informational, must be non-zero).
     */
    function anchor(bytes32 root, uint32 count) external;

    /**
     * @notice Whether `issuer` anchored `root`, when, and how many credentials it declared;
     * all zero if it did not.
     * @param issuer The issuer the batch is claimed to belong to.
     * @param root The batch root.
     * @return anchored Whether `issuer` anchored `root`.
     * @return anchoredAt Block timestamp of the anchoring.
     * @return count Batch size declared by the issuer.
     */
    function anchorOf(address issuer, bytes32 root)
        external
        view
        returns (bool anchored, uint64 anchoredAt, uint32 count);

    /**
     * @notice The Merkle leaf of a credential: the `StandardMerkleTree` leaf of
     * `[credentialHash]` with leaf encoding `["bytes32"]`.
     * @param credentialHash Hash identifying the credential.
     * @return The leaf, `keccak256(bytes.concat(keccak256(abi.encode(credentialHash))))`.
     */
    function leafOf(bytes32 credentialHash) external pure returns (bytes32);

    // --------------------------------------------------------------------------- revocation

    /**
     * @notice Revokes `credentialHash` in every batch the caller anchored.
     * @dev Recorded under the caller only: it never affects another issuer's batches.
     * Callable by any address ever accredited, including a suspended issuer. Reverts with
     * {CredentialAnchorCredentialAlreadyRevoked} if the caller already revoked it.
     * Emits {CredentialRevoked}.
     * @param credentialHash The credential to revoke.
     * @param reason Application-defined reason code, stored and emitted as given.
     */
    function revokeCredential(bytes32 credentialHash, uint8 reason) external;

    /**
     * @notice Revokes every hash of `credentialHashes` in every batch the caller anchored.
     * @dev Same rules as {revokeCredential}, except that hashes the caller already revoked
     * (including duplicates within the list) are skipped without an event, so a retried list
     * is harmless. Emits one {CredentialRevoked} per newly revoked hash.
     * @param credentialHashes The credentials to revoke; must not be empty.
     * @param reason Application-defined reason code applied to every newly revoked hash.
     */
    function revokeCredentials(bytes32[] calldata credentialHashes, uint8 reason) external;

    /**
     * @notice Revokes every credential of `issuer`'s batch `root`.
     * @dev Callable by `issuer` itself (even if suspended) or by an admin, e.g. after an
     * issuer key was compromised. Emits {BatchRevoked}.
     * @param issuer The issuer that anchored `root`.
     * @param root A root `issuer` anchored.
     * @param reason Application-defined reason code, stored and emitted as given.
     */
    function revokeBatch(address issuer, bytes32 root, uint8 reason) external;

    /**
     * @notice Whether `issuer` revoked `credentialHash`; zeros if it did not.
     * @param issuer The issuer whose revocations are asked about.
     * @param credentialHash The credential.
     * @return revokedAt Block timestamp of the revocation.
     * @return reason Reason code given at revocation.
     */
    function credentialRevocation(address issuer, bytes32 credentialHash)
        external
        view
        returns (uint64 revokedAt, uint8 reason);

    /**
     * @notice Whether `issuer`'s batch `root` was revoked; zeros if it was not.
     * @param issuer The issuer that anchored `root`.
     * @param root The batch root.
     * @return by The issuer or admin that revoked it.
     * @return revokedAt Block timestamp of the revocation.
     * @return reason Reason code given at revocation.
     */
    function batchRevocation(address issuer, bytes32 root)
        external
        view
        returns (address by, uint64 revokedAt, uint8 reason);

    // ------------------------------------------------------------------------- verification

    /**
     * @notice Checks a credential against a batch of the issuer the credential names, in one call.
     * @dev Checks, in order: `issuer` anchored `root`, `proof` valid for {leafOf}(`credentialHash`),
     * the batch not revoked, the credential not revoked by `issuer`. The caller must take
     * `issuer` from the credential itself (see the contract WARNING).
     * @param issuer The account of the issuer the credential names.
     * @param credentialHash Hash identifying the credential.
     * @param proof `StandardMerkleTree` proof of the credential's leaf.
     * @param root The batch root the credential claims to belong to.
     * @return status See {Status}.
     * @return anchoredAt When `issuer` anchored `root` (zero if it did not).
     * @return issuerActive Whether `issuer` is accredited now.
     */
    function verify(address issuer, bytes32 credentialHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (Status status, uint64 anchoredAt, bool issuerActive);
}
