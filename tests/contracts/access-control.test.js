"use strict";

// Who may call what: one row per (caller, function), each asserting the exact outcome.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { DEFAULT_ADMIN_ROLE, deployFixture, didOf } = require("./helpers");

const NEW_ROOT = ethers.id("access-control new root");
const HASH = ethers.id("access-control credential");

describe("CredentialAnchor: access-control matrix", function () {
  const rows = [
    // accreditIssuer / updateIssuerProfile / suspendIssuer: admin only
    ...["issuerA", "issuerB", "outsider", "suspended"].flatMap((who) => [
      {
        who,
        call: "accreditIssuer",
        send: (c, f) => c.accreditIssuer(f.outsider.address, "X", "", didOf(f.outsider.address)),
        error: (f) => ["AccessControlUnauthorizedAccount", f[who].address, DEFAULT_ADMIN_ROLE],
      },
      {
        who,
        call: "updateIssuerProfile",
        send: (c, f) => c.updateIssuerProfile(f.issuerB.address, "X", "", "did:example:x"),
        error: (f) => ["AccessControlUnauthorizedAccount", f[who].address, DEFAULT_ADMIN_ROLE],
      },
      {
        who,
        call: "suspendIssuer",
        send: (c, f) => c.suspendIssuer(f.issuerB.address),
        error: (f) => ["AccessControlUnauthorizedAccount", f[who].address, DEFAULT_ADMIN_ROLE],
      },
    ]),
    { who: "admin", call: "accreditIssuer", send: (c, f) => c.accreditIssuer(f.outsider.address, "X", "", didOf(f.outsider.address)), event: (f) => ["IssuerAccredited", f.outsider.address, "X", "", didOf(f.outsider.address)] },
    { who: "admin", call: "updateIssuerProfile", send: (c, f) => c.updateIssuerProfile(f.issuerB.address, "X", "", "did:example:x"), event: (f) => ["IssuerProfileUpdated", f.issuerB.address, "X", "", "did:example:x"] },
    { who: "admin", call: "suspendIssuer", send: (c, f) => c.suspendIssuer(f.issuerB.address), event: (f) => ["IssuerSuspended", f.issuerB.address] },

    // anchor: active issuers only
    { who: "issuerA", call: "anchor", send: (c) => c.anchor(NEW_ROOT, 2), event: (f) => ["Anchored", NEW_ROOT, f.issuerA.address, 2] },
    { who: "issuerB", call: "anchor", send: (c) => c.anchor(NEW_ROOT, 2), event: (f) => ["Anchored", NEW_ROOT, f.issuerB.address, 2] },
    ...["admin", "outsider", "suspended"].map((who) => ({
      who,
      call: "anchor",
      send: (c) => c.anchor(NEW_ROOT, 2),
      error: (f) => ["CredentialAnchorIssuerNotAccredited", f[who].address],
    })),

    // revokeCredential / revokeCredentials: anyone ever accredited
    ...["issuerA", "issuerB", "suspended"].flatMap((who) => [
      { who, call: "revokeCredential", send: (c) => c.revokeCredential(HASH, 1), event: (f) => ["CredentialRevoked", f[who].address, HASH, 1] },
      { who, call: "revokeCredentials", send: (c) => c.revokeCredentials([HASH], 1), event: (f) => ["CredentialRevoked", f[who].address, HASH, 1] },
    ]),
    ...["admin", "outsider"].flatMap((who) => [
      { who, call: "revokeCredential", send: (c) => c.revokeCredential(HASH, 1), error: (f) => ["CredentialAnchorNeverAccredited", f[who].address] },
      { who, call: "revokeCredentials", send: (c) => c.revokeCredentials([HASH], 1), error: (f) => ["CredentialAnchorNeverAccredited", f[who].address] },
    ]),

    // revokeBatch of issuer A's batch: issuer A or an admin
    { who: "issuerA", call: "revokeBatch", send: (c, f) => c.revokeBatch(f.issuerA.address, f.batch.tree.root, 1), event: (f) => ["BatchRevoked", f.batch.tree.root, f.issuerA.address, f.issuerA.address, 1] },
    { who: "admin", call: "revokeBatch", send: (c, f) => c.revokeBatch(f.issuerA.address, f.batch.tree.root, 1), event: (f) => ["BatchRevoked", f.batch.tree.root, f.issuerA.address, f.admin.address, 1] },
    ...["issuerB", "outsider", "suspended"].map((who) => ({
      who,
      call: "revokeBatch",
      send: (c, f) => c.revokeBatch(f.issuerA.address, f.batch.tree.root, 1),
      error: (f) => ["CredentialAnchorNotRootIssuer", f.batch.tree.root, f[who].address],
    })),
  ];

  for (const row of rows) {
    const outcome = row.error ? "is refused" : "is allowed";
    it(`${row.call} by ${row.who} ${outcome}`, async function () {
      const f = await loadFixture(deployFixture);
      const contract = f.anchor.connect(f[row.who]);
      if (row.error) {
        const [name, ...args] = row.error(f);
        await expect(row.send(contract, f))
          .to.be.revertedWithCustomError(f.anchor, name)
          .withArgs(...args);
      } else {
        const [name, ...args] = row.event(f);
        await expect(row.send(contract, f))
          .to.emit(f.anchor, name)
          .withArgs(...args);
      }
    });
  }
});
