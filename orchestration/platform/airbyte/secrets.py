"""An Airbyte connector's secret settings, kept apart from the rest.

The fields its spec marks `airbyte_secret` (a token, a client secret, a refresh token) are
taken out of the integration's `config` when it is saved, sealed with the integration's
credentials (`orchestration.platform.credentials`), and replaced by MASK, which is what the
API, the admin and the audit log show. The worker joins them back into the configuration it
writes for the connector, and only there. Given MASK back (a form or a PATCH that keeps a
secret), the stored value stays.
"""

import copy
from typing import Any

from . import spec
from .sources import Source

MASK = "**********"  # what Airbyte's own UI shows for a secret, too
Secrets = dict[str, str]  # "/"-joined path in the config -> the value


class MissingSecret(ValueError):
    """MASK given for a secret the integration doesn't hold."""


def secrets_split(source: Source, config: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """(the config with each secret replaced by MASK, the secrets by path)."""
    names = spec.secret_fields(source, config)
    secrets: Secrets = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            kept = {}
            for key, value in node.items():
                where = f"{path}/{key}" if path else key
                if key == spec.MANIFEST_KEY:
                    kept[key] = value  # the manifest's templates name secrets, hold none
                elif key in names and isinstance(value, str):
                    secrets[where], kept[key] = value, MASK
                else:
                    kept[key] = walk(value, where)
            return kept
        if isinstance(node, list):
            return [walk(item, f"{path}/{index}") for index, item in enumerate(node)]
        return node

    return walk(config, ""), secrets


def secrets_kept(given: Secrets, stored: Secrets) -> Secrets:
    """The secrets to store: those given, MASK standing for the stored value at its path."""
    kept = {}
    for path, value in given.items():
        if value != MASK:
            kept[path] = value
        elif path in stored:
            kept[path] = stored[path]
        else:
            raise MissingSecret(path)
    return kept


def secrets_joined(config: dict[str, Any], secrets: Secrets) -> dict[str, Any]:
    """`config` with each secret back at its path (for the connector's config file only)."""
    joined = copy.deepcopy(config)
    for path, value in secrets.items():
        node: Any = joined
        *parents, last = path.split("/")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                break
        else:
            if isinstance(node, dict) and node.get(last) == MASK:
                node[last] = value
            elif isinstance(node, list) and node[int(last)] == MASK:
                node[int(last)] = value
    return joined
