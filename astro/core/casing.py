"""The API's casing (camelCase) for keys Astro writes from snake_case names (event data)."""

from __future__ import annotations

from collections.abc import Mapping


def camel(name: str) -> str:
    """`added_unexplained` -> `addedUnexplained`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(mapping: Mapping[str, object]) -> dict[str, object]:
    """The same mapping with camelCase keys (one level: values are left as they are)."""
    return {camel(key): value for key, value in mapping.items()}
