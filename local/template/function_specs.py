"""The template's functions (their own stack's Globals.Function merged as SAM merges it), their layers and their
event sources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.template.loading import FUNCTION_TYPE, resources_of_type, stack_globals


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function with Globals.Function applied. Values are unresolved intrinsics."""

    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    timeout: int
    memory: int
    runtime: str | None = None
    event_names: list[str] = field(default_factory=list)
    # Its stack's Globals' layers, then its own (SAM puts global list items first); unresolved (`{"Ref": ...}`).
    layers: list[Any] = field(default_factory=list)

    @property
    def module(self) -> str:
        """The handler's module path, "create_event" for "create_event.lambda_handler"."""
        return self.handler.rpartition(".")[0]

    @property
    def function_name(self) -> str:
        return self.handler.rpartition(".")[2]


def functions(template: Mapping[str, Any]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals.Function merged in the way SAM merges it.

    A function of a nested stack gets that stack's Globals, not the parent's (SAM transforms each template alone).
    """
    specs = []
    for logical_id, props in resources_of_type(template, FUNCTION_TYPE).items():
        globals_ = stack_globals(template, logical_id).get("Function") or {}
        global_env = ((globals_.get("Environment") or {}).get("Variables")) or {}
        own_env = ((props.get("Environment") or {}).get("Variables")) or {}
        events = props.get("Events") or {}
        code_uri = props.get("CodeUri", globals_.get("CodeUri", "."))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=code_uri if isinstance(code_uri, str) else str(code_uri),
                handler=props.get("Handler", globals_.get("Handler", "")),
                environment={**global_env, **own_env},
                events=[(event.get("Type", ""), dict(event.get("Properties") or {})) for event in events.values()],
                event_names=list(events),
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                runtime=props.get("Runtime", globals_.get("Runtime")),
                layers=[*(globals_.get("Layers") or []), *(props.get("Layers") or [])],
            )
        )
    return specs


def layer_python_dirs(template: Mapping[str, Any], base_dir: Path) -> list[Path]:
    """The folder of each layer that Lambda puts on the import path (/opt/python), as this template ships it.

    A layer SAM builds with a python BuildMethod has its ContentUri copied *into* python/, so in a source template
    that folder is the ContentUri itself; a built template (sam build marks every resource with SamResourceId)
    points at the build output, which holds python/ as Lambda mounts it.
    """
    dirs = []
    for resource in (template.get("Resources") or {}).values():
        folder = _layer_python_dir(resource, base_dir)
        if folder is not None and folder not in dirs:  # a nested stack may build the same layer folder again
            dirs.append(folder)
    return dirs


def function_layer_dirs(template: Mapping[str, Any], function: FunctionSpec, base_dir: Path) -> list[Path]:
    """The python/ folders of the layers one function names (`!Ref <LayerVersion>` of the template), in order."""
    resources = template.get("Resources") or {}
    dirs = []
    for layer in function.layers:
        target = layer.get("Ref") if isinstance(layer, Mapping) else None
        folder = _layer_python_dir(resources.get(target), base_dir) if isinstance(target, str) else None
        if folder is not None:
            dirs.append(folder)
    return dirs


def _layer_python_dir(resource: Any, base_dir: Path) -> Path | None:
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::LayerVersion":
        return None
    content_uri = (resource.get("Properties") or {}).get("ContentUri")
    if not isinstance(content_uri, str):
        return None
    metadata = resource.get("Metadata") or {}
    sam_builds_it = str(metadata.get("BuildMethod", "")).startswith("python") and "SamResourceId" not in metadata
    folder = (base_dir / content_uri).resolve()
    return folder if sam_builds_it else folder / "python"


def iter_event_sources(
    template: Mapping[str, Any], event_types: Iterable[str]
) -> Iterable[tuple[FunctionSpec, str, dict[str, Any]]]:
    """(function, event type, properties) for each event of the given types."""
    wanted = set(event_types)
    for function in functions(template):
        for event_type, props in function.events:
            if event_type in wanted:
                yield function, event_type, props
