"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { DEFAULT_ADMIN_ROLE, deployFixture, blockTimestampOf, didOf } = require("./helpers");

describe("CredentialAnchor: deployment and accreditation", function () {
  describe("constructor", function () {
    it("makes the deployer the only admin", async function () {
      const { anchor, admin, issuerA } = await loadFixture(deployFixture);
      expect(await anchor.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await anchor.hasRole(DEFAULT_ADMIN_ROLE, issuerA.address)).to.equal(false);
      expect(await anchor.getRoleAdmin(DEFAULT_ADMIN_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("has no payable entry point and rejects plain ether", async function () {
      const { anchor, admin } = await loadFixture(deployFixture);
      const payable = anchor.interface.fragments.filter((f) => f.payable === true);
      expect(payable).to.deep.equal([]);
      await expect(admin.sendTransaction({ to: await anchor.getAddress(), value: 1n })).to.be.reverted;
      await expect(admin.sendTransaction({ to: await anchor.getAddress(), data: "0x12345678" })).to.be.reverted;
    });

    it("supports the AccessControl and ERC-165 interfaces", async function () {
      const { anchor } = await loadFixture(deployFixture);
      expect(await anchor.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await anchor.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await anchor.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("supports the ICredentialAnchor interface, whose functions are all it adds to AccessControl", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const iface = (await ethers.getContractAt("ICredentialAnchor", await anchor.getAddress())).interface;
      let id = 0n;
      iface.forEachFunction((f) => {
        id ^= BigInt(f.selector);
      });
      expect(await anchor.supportsInterface(ethers.toBeHex(id, 4))).to.equal(true);
      const own = [];
      anchor.interface.forEachFunction((f) => own.push(f.format()));
      const declared = [];
      iface.forEachFunction((f) => declared.push(f.format()));
      const inherited = own.filter((f) => !declared.includes(f)).sort();
      expect(inherited).to.deep.equal([
        "DEFAULT_ADMIN_ROLE()",
        "getRoleAdmin(bytes32)",
        "grantRole(bytes32,address)",
        "hasRole(bytes32,address)",
        "renounceRole(bytes32,address)",
        "revokeRole(bytes32,address)",
        "supportsInterface(bytes4)",
      ]);
      expect(declared.length).to.equal(13);
    });
  });

  describe("accreditIssuer", function () {
    it("records a new issuer with its DID and emits IssuerAccredited", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      const did = didOf(outsider.address);
      const tx = anchor.accreditIssuer(outsider.address, "New Issuer", "https://new.example/p.json", did);
      await expect(tx)
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(outsider.address, "New Issuer", "https://new.example/p.json", did);
      await expect(tx).not.to.emit(anchor, "IssuerReactivated");
      const at = await blockTimestampOf(await tx);
      expect(await anchor.issuerInfo(outsider.address)).to.deep.equal([
        "New Issuer",
        "https://new.example/p.json",
        did,
        true,
        at,
        0n,
      ]);
    });

    it("accepts an empty profile URI and any non-empty DID string", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      const did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
      await expect(anchor.accreditIssuer(outsider.address, "No Profile", "", did))
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(outsider.address, "No Profile", "", did);
      const [name, profileURI, storedDid, active] = await anchor.issuerInfo(outsider.address);
      expect([name, profileURI, storedDid, active]).to.deep.equal(["No Profile", "", did, true]);
    });

    it("refuses an issuer that is already active (a profile change goes through updateIssuerProfile)", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const before = await anchor.issuerInfo(issuerA.address);
      await expect(anchor.accreditIssuer(issuerA.address, "Issuer A (renamed)", "", didOf(issuerA.address)))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerAlreadyActive")
        .withArgs(issuerA.address);
      expect(await anchor.issuerInfo(issuerA.address)).to.deep.equal(before);
    });

    it("re-activates a suspended issuer with a new profile, a new accreditedAt and no suspendedAt, emitting IssuerReactivated", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const [, , , activeBefore, accreditedBefore, suspendedAtBefore] = await anchor.issuerInfo(suspended.address);
      expect(activeBefore).to.equal(false);
      expect(suspendedAtBefore).to.be.greaterThan(0n);
      await time.increase(3600);
      const did = "did:web:back.example";
      const tx = anchor.accreditIssuer(suspended.address, "Back again", "https://back.example/p.json", did);
      await expect(tx)
        .to.emit(anchor, "IssuerReactivated")
        .withArgs(suspended.address, "Back again", "https://back.example/p.json", did);
      await expect(tx).not.to.emit(anchor, "IssuerAccredited");
      const at = await blockTimestampOf(await tx);
      expect(at).to.be.greaterThan(accreditedBefore);
      expect(await anchor.issuerInfo(suspended.address)).to.deep.equal([
        "Back again",
        "https://back.example/p.json",
        did,
        true,
        at,
        0n,
      ]);
    });

    it("reverts on the zero address", async function () {
      const { anchor } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(ethers.ZeroAddress, "Nobody", "", "did:example:nobody"))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorZeroAddress")
        .withArgs();
    });

    it("reverts on an empty name", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(outsider.address, "", "https://x.example", didOf(outsider.address)))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyName")
        .withArgs();
    });

    it("reverts on an empty DID", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(outsider.address, "No DID", "https://x.example", ""))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyDid")
        .withArgs();
      expect(await anchor.issuerInfo(outsider.address)).to.deep.equal(["", "", "", false, 0n, 0n]);
    });
  });

  describe("updateIssuerProfile", function () {
    it("replaces name, URI and DID of an active issuer, keeps its accreditation and emits IssuerProfileUpdated", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [, , , , accreditedAt] = await anchor.issuerInfo(issuerA.address);
      await time.increase(3600);
      const did = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
      const tx = anchor.updateIssuerProfile(issuerA.address, "Issuer A (renamed)", "https://a.example/v2.json", did);
      await expect(tx)
        .to.emit(anchor, "IssuerProfileUpdated")
        .withArgs(issuerA.address, "Issuer A (renamed)", "https://a.example/v2.json", did);
      await expect(tx).not.to.emit(anchor, "IssuerAccredited");
      expect(await anchor.issuerInfo(issuerA.address)).to.deep.equal([
        "Issuer A (renamed)",
        "https://a.example/v2.json",
        did,
        true,
        accreditedAt,
        0n,
      ]);
    });

    it("updates a suspended issuer without re-activating it", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const [, , , , accreditedAt, suspendedAt] = await anchor.issuerInfo(suspended.address);
      await expect(anchor.updateIssuerProfile(suspended.address, "Still suspended", "", "did:web:s.example"))
        .to.emit(anchor, "IssuerProfileUpdated")
        .withArgs(suspended.address, "Still suspended", "", "did:web:s.example");
      expect(await anchor.issuerInfo(suspended.address)).to.deep.equal([
        "Still suspended",
        "",
        "did:web:s.example",
        false,
        accreditedAt,
        suspendedAt,
      ]);
      await expect(anchor.connect(suspended).anchor(ethers.id("still no"), 1))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotAccredited")
        .withArgs(suspended.address);
    });

    it("reverts for an address never accredited, and on an empty name or DID", async function () {
      const { anchor, issuerA, outsider } = await loadFixture(deployFixture);
      await expect(anchor.updateIssuerProfile(outsider.address, "X", "", "did:example:x"))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorNeverAccredited")
        .withArgs(outsider.address);
      await expect(anchor.updateIssuerProfile(issuerA.address, "", "", "did:example:x"))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyName")
        .withArgs();
      await expect(anchor.updateIssuerProfile(issuerA.address, "X", "", ""))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyDid")
        .withArgs();
    });
  });

  describe("suspendIssuer", function () {
    it("deactivates an issuer, records suspendedAt and emits IssuerSuspended", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [, , , , accreditedAt] = await anchor.issuerInfo(issuerA.address);
      const tx = anchor.suspendIssuer(issuerA.address);
      await expect(tx).to.emit(anchor, "IssuerSuspended").withArgs(issuerA.address);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.issuerInfo(issuerA.address)).to.deep.equal([
        "Issuer A",
        "https://a.example/issuer.json",
        didOf(issuerA.address),
        false,
        accreditedAt,
        at,
      ]);
    });

    it("reverts for an already suspended issuer", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      await expect(anchor.suspendIssuer(suspended.address))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotActive")
        .withArgs(suspended.address);
    });

    it("reverts for an address never accredited", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.suspendIssuer(outsider.address))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorIssuerNotActive")
        .withArgs(outsider.address);
    });
  });

  describe("issuerInfo", function () {
    it("is all zero for an address never accredited", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      expect(await anchor.issuerInfo(outsider.address)).to.deep.equal(["", "", "", false, 0n, 0n]);
    });
  });

  describe("admin role management (inherited from AccessControl)", function () {
    it("lets the admin hand accreditation to a second admin, and lets an admin renounce", async function () {
      const { anchor, admin, outsider, issuerB } = await loadFixture(deployFixture);
      await expect(anchor.grantRole(DEFAULT_ADMIN_ROLE, outsider.address))
        .to.emit(anchor, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, outsider.address, admin.address);
      await expect(anchor.connect(outsider).suspendIssuer(issuerB.address))
        .to.emit(anchor, "IssuerSuspended")
        .withArgs(issuerB.address);
      await expect(anchor.renounceRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.emit(anchor, "RoleRevoked")
        .withArgs(DEFAULT_ADMIN_ROLE, admin.address, admin.address);
      await expect(anchor.suspendIssuer(outsider.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, DEFAULT_ADMIN_ROLE);
    });
  });
});
