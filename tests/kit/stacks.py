"""Inputs shared by the stacking tests: badges, definitions, and helpers to grant and read back.

Dates are relative to today, so the age rule keeps meaning the same thing whenever it runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credanchor.core.credentials import format_datetime
from credanchor.ledger.store import Issuer
from credanchor.usecases import stacks as stacking
from credanchor.usecases.container import Runtime

ADA = "ada@example.org"
GRACE = "grace@example.org"

ACHIEVEMENTS = {
    "excel": ("https://skills.example/achievements/excel-modelling", "Excel Modelling"),
    "sql": ("https://skills.example/achievements/sql-basics", "SQL Basics"),
    "viz": ("https://skills.example/achievements/data-visualisation", "Data Visualisation"),
    "stats": ("https://skills.example/achievements/statistics", "Applied Statistics"),
}


def days_ago(n: int) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(days=n))


def badge(email: str, key: str, *, name: str = "Ada Lovelace", age_days: int = 30
          ) -> dict[str, Any]:
    achievement_id, title = ACHIEVEMENTS[key]
    return {
        "recipient": {"name": name, "email": email},
        "achievement": {"id": achievement_id, "name": title,
                        "description": f"{title}, assessed in practice.",
                        "criteria": "Passed a supervised practical assessment."},
        "validFrom": days_ago(age_days),
    }


def requirement(key: str, group: str | None = None) -> dict[str, Any]:
    achievement_id, title = ACHIEVEMENTS[key]
    out = {"key": key, "name": title, "achievement": achievement_id}
    if group:
        out["group"] = group
    return out


def data_analyst(accepted: list[str]) -> dict[str, Any]:
    """All of three components; SQL may come from the accepted issuers."""
    return {
        "stack": "data-analyst",
        "achievement": {
            "id": "https://acme.example/qualifications/data-analyst",
            "name": "Data Analyst",
            "description": "Models, queries and presents data for business decisions.",
            "criteria": "Holds the Excel Modelling, SQL Basics and Data Visualisation badges.",
        },
        "rule": {"require": "all",
                 "components": [requirement("excel"), requirement("sql"), requirement("viz")],
                 "acceptedIssuers": accepted},
    }


def data_literacy(accepted: list[str]) -> dict[str, Any]:
    """Two of four, at least one from the core group, none older than a year."""
    return {
        "stack": "data-literacy",
        "achievement": {
            "id": "https://acme.example/qualifications/data-literacy",
            "name": "Data Literacy",
            "description": "Reads, questions and presents quantitative data.",
            "criteria": "Any two of the four data badges, at least one of them a core badge.",
            "achievementType": "MicroCredential",
        },
        "rule": {"require": 2,
                 "components": [requirement("excel", "core"), requirement("sql", "core"),
                                requirement("viz", "practice"), requirement("stats", "practice")],
                 "groups": [{"name": "core", "min": 1}],
                 "acceptedIssuers": accepted,
                 "maxAgeDays": 365},
    }


@dataclass
class World:
    runtime: Runtime
    acme: Issuer
    other: Issuer  # accredited and accepted by the stacks
    stranger: Issuer  # accredited, but accepted by no stack
    ids: dict[str, str] = field(default_factory=dict)

    def file(self, name: str) -> dict[str, Any]:
        """The holder's file of one of the world's badges (a fresh copy)."""
        store = self.runtime.store()
        return copy.deepcopy(self.runtime.proofs().credential_file(
            store.get_credential(self.ids[name])))

    def files(self, *names: str) -> list[dict[str, Any]]:
        return [self.file(n) for n in names]

    def anchor(self) -> None:
        self.runtime.anchorer().run_until_idle(timeout=120)

    def grant(self, stack: str, components: list[dict[str, Any]], *, recipient: str = ADA,
              name: str | None = "Ada Lovelace", version: int | None = None
              ) -> dict[str, Any]:
        """Grant a qualification as Acme, anchor it, return the holder's file."""
        accepted = stacking.issue_qualification(self.runtime, self.acme, stack, components,
                                                recipient, name=name, version=version)
        self.anchor()
        store = self.runtime.store()
        return self.runtime.proofs().credential_file(store.get_credential(accepted.id))

    def issue(self, issuer: Issuer, item: dict[str, Any]) -> str:
        from credanchor.issuing.pipeline import issue

        store = self.runtime.store()
        return issue(store, issuer, self.runtime.issuance(issuer), [item],
                     max_items=1)[0].id
