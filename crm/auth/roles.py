"""Who may do what. Roles are fixed (agent, marketer, admin); permissions are checked on every call."""

from __future__ import annotations

PERMISSIONS: dict[str, set[str]] = {
    "agent": {"customers:read", "customers:write", "search", "actions", "segments:read", "metrics:read"},
    "marketer": {"customers:read", "search", "segments:read", "segments:write", "metrics:read", "experiments"},
    "admin": {"*"},
}
# Every role manages its own API tokens.
for _granted in PERMISSIONS.values():
    _granted.add("account")


def can(role: str | None, permission: str) -> bool:
    granted = PERMISSIONS.get(role or "", set())
    return "*" in granted or permission in granted
