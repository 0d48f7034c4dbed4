"""The user's dbt project as we see it: parsed manifest, sync definitions, warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbt_lambda_sync.definitions import (
    META_KEY,
    ModelRef,
    SyncDefinition,
    load_definitions,
    select_definitions,
)
from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse, parse_manifest


def model_refs(manifest: Any) -> list[ModelRef]:
    """Every model of the manifest that declares lambda_sync in config.meta."""
    refs = []
    for node in manifest.nodes.values():
        if getattr(node, "resource_type", None) != "model":
            continue
        meta = dict(node.config.meta or {})
        if META_KEY not in meta:
            continue
        refs.append(
            ModelRef(
                unique_id=node.unique_id,
                name=node.name,
                database=node.database,
                schema=node.schema,
                identifier=node.alias or node.name,
                package_name=node.package_name,
                meta=meta,
                columns=tuple(node.columns),
            )
        )
    return refs


class Project:
    """A parsed dbt project. Parsing happens in ``load``, never in the constructor."""

    def __init__(self, args: ProjectArgs, manifest: Any):
        self.args = args
        self.manifest = manifest

    @classmethod
    def load(cls, args: ProjectArgs) -> Project:
        """Resolve the project's arguments and parse its manifest."""
        resolved = args.resolved()
        return cls(resolved, parse_manifest(resolved))

    def definitions(self, selectors: Sequence[str] = ()) -> list[SyncDefinition]:
        """Every sync, validated all at once; then narrowed to the selectors, if any."""
        definitions = load_definitions(model_refs(self.manifest))
        return select_definitions(definitions, selectors) if selectors else definitions

    def open_warehouse(self) -> Warehouse:
        """A warehouse connection through the project's adapter, reusing the parsed manifest."""
        return Warehouse.open(self.args, manifest=self.manifest)
