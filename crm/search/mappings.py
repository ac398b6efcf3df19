"""Index design, versioned: bump VERSION when a mapping changes, then `flask search reindex`."""

from __future__ import annotations

VERSION = 1
ENTITIES = ("customer", "interaction")


def index_name(prefix: str, entity: str, version: int) -> str:
    return f"{prefix}-{entity}s-v{version}"


def index_body(entity: str) -> dict:
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}
    if entity == "customer":
        properties = {
            "id": {"type": "long"},
            "name": {"type": "text"},
            "identifiers": {"type": "keyword"},
            "last_seen_at": {"type": "date"},
        }
    else:
        properties = {
            "id": {"type": "long"},
            "customer_id": {"type": "long"},
            "channel": {"type": "keyword"},
            "type": {"type": "keyword"},
            "occurred_at": {"type": "date"},
            "subject": {"type": "text"},
            "text": {"type": "text"},
        }
    return {"settings": settings, "mappings": {"dynamic": "strict", "properties": properties}}
