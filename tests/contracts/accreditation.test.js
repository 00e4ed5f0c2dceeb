"use strict";

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { DEFAULT_ADMIN_ROLE, deployFixture, blockTimestampOf } = require("./helpers");

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
  });

  describe("accreditIssuer", function () {
    it("records a new issuer and emits IssuerAccredited", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      const tx = anchor.accreditIssuer(outsider.address, "New Issuer", "https://new.example/p.json");
      await expect(tx)
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(outsider.address, "New Issuer", "https://new.example/p.json");
      const at = await blockTimestampOf(await tx);
      expect(await anchor.issuerInfo(outsider.address)).to.deep.equal([
        "New Issuer",
        "https://new.example/p.json",
        true,
        at,
        0n,
      ]);
    });

    it("accepts an empty profile URI", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(outsider.address, "No Profile", ""))
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(outsider.address, "No Profile", "");
      const [name, profileURI, active] = await anchor.issuerInfo(outsider.address);
      expect([name, profileURI, active]).to.deep.equal(["No Profile", "", true]);
    });

    it("updates name and URI of an active issuer and keeps its accreditation time", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [, , , accreditedAt] = await anchor.issuerInfo(issuerA.address);
      await time.increase(3600);
      await expect(anchor.accreditIssuer(issuerA.address, "Issuer A (renamed)", "https://a.example/v2.json"))
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(issuerA.address, "Issuer A (renamed)", "https://a.example/v2.json");
      expect(await anchor.issuerInfo(issuerA.address)).to.deep.equal([
        "Issuer A (renamed)",
        "https://a.example/v2.json",
        true,
        accreditedAt,
        0n,
      ]);
    });

    it("re-activates a suspended issuer with a new name and URI, a new accreditedAt and no suspendedAt", async function () {
      const { anchor, suspended } = await loadFixture(deployFixture);
      const [, , activeBefore, accreditedBefore, suspendedAtBefore] = await anchor.issuerInfo(suspended.address);
      expect(activeBefore).to.equal(false);
      expect(suspendedAtBefore).to.be.greaterThan(0n);
      await time.increase(3600);
      const tx = anchor.accreditIssuer(suspended.address, "Back again", "https://back.example/p.json");
      await expect(tx)
        .to.emit(anchor, "IssuerAccredited")
        .withArgs(suspended.address, "Back again", "https://back.example/p.json");
      const at = await blockTimestampOf(await tx);
      expect(at).to.be.greaterThan(accreditedBefore);
      expect(await anchor.issuerInfo(suspended.address)).to.deep.equal([
        "Back again",
        "https://back.example/p.json",
        true,
        at,
        0n,
      ]);
    });

    it("reverts on the zero address", async function () {
      const { anchor } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(ethers.ZeroAddress, "Nobody", ""))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorZeroAddress")
        .withArgs();
    });

    it("reverts on an empty name", async function () {
      const { anchor, outsider } = await loadFixture(deployFixture);
      await expect(anchor.accreditIssuer(outsider.address, "", "https://x.example"))
        .to.be.revertedWithCustomError(anchor, "CredentialAnchorEmptyName")
        .withArgs();
    });
  });

  describe("suspendIssuer", function () {
    it("deactivates an issuer, records suspendedAt and emits IssuerSuspended", async function () {
      const { anchor, issuerA } = await loadFixture(deployFixture);
      const [, , , accreditedAt] = await anchor.issuerInfo(issuerA.address);
      const tx = anchor.suspendIssuer(issuerA.address);
      await expect(tx).to.emit(anchor, "IssuerSuspended").withArgs(issuerA.address);
      const at = await blockTimestampOf(await tx);
      expect(await anchor.issuerInfo(issuerA.address)).to.deep.equal([
        "Issuer A",
        "https://a.example/issuer.json",
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
      expect(await anchor.issuerInfo(outsider.address)).to.deep.equal(["", "", false, 0n, 0n]);
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
