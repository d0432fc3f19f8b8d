"""The artifact check (tools/artifact.py) on what `sam build` wrote: it passes on the real build and fails on a layer
that Lambda could not import from (arena one folder too deep, a runtime dependency missing, a handler that does not
exist); and the layer carries what the code imports, and nothing dev-only. `make test` builds the artifact first."""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest

from local import template as tpl
from tools import artifact

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("pytest", "moto", "hypothesis", "ruff", "websockets", "yaml", "werkzeug", "cfnlint", "samcli")


@pytest.fixture(scope="module")
def build_dir() -> Path:
    candidate = artifact.default_build_dir()
    if (candidate / "template.yaml").is_file():
        return candidate
    pytest.fail(f"no sam build output in {candidate}: run `make artifact`")


def _copy(build_dir: Path, tmp_path: Path, functions: list[str]) -> Path:
    """A copy of the build output with only `functions` (their folders), the templates and the layers: each nested
    stack's folder (its template beside it) with its own layer."""
    copy = tmp_path / "build"
    copy.mkdir()
    shutil.copy(build_dir / "template.yaml", copy / "template.yaml")
    shutil.copytree(build_dir / "SharedLayer", copy / "SharedLayer", symlinks=True)
    children = [path.parent.name for path in build_dir.glob("*/template.yaml")]
    for child in children:
        (copy / child).mkdir()
        shutil.copy(build_dir / child / "template.yaml", copy / child / "template.yaml")
        for layer in (build_dir / child).glob("*Layer"):
            shutil.copytree(layer, copy / child / layer.name, symlinks=True)
    for name in functions:
        where = next((child for child in children if (build_dir / child / name).is_dir()), "")
        shutil.copytree(build_dir / where / name, copy / where / name)
    return copy


def _layers(copy: Path) -> list[Path]:
    """The python/ folder of every layer in the copy, the nested stacks' included."""
    return [*copy.glob("*Layer/python"), *copy.glob("*/*Layer/python")]


def test_every_function_imports_from_the_real_artifact(build_dir: Path) -> None:
    """Given the build output
    When three handlers of different kinds are imported as Lambda would
    Then they import, and the cold import time is measured."""
    results = artifact.check(build_dir, ["CreateEventFunction", "WebSocketFunction", "PushActivityFunction"])
    # Then
    assert [(r.function, r.ok, r.error) for r in results] == [
        ("CreateEventFunction", True, None),
        ("WebSocketFunction", True, None),
        ("PushActivityFunction", True, None),
    ]
    assert all(r.import_ms and r.import_ms > 0 for r in results)


def test_a_layer_one_folder_too_deep_fails_the_check(build_dir: Path, tmp_path: Path) -> None:
    """Given a layer whose package sits at python/python/arena (what a ContentUri above python/ ships)
    When the check runs
    Then the function fails to import, naming the package"""
    copy = _copy(build_dir, tmp_path, ["CreateEventFunction"])
    layer = copy / "SharedLayer" / "python"
    (layer / "python").mkdir()
    shutil.move(str(layer / "arena"), str(layer / "python" / "arena"))
    # When
    [result] = artifact.check(copy, ["CreateEventFunction"])
    # Then
    assert not result.ok and result.error == "ModuleNotFoundError: No module named 'arena'"


def test_a_runtime_dependency_missing_from_the_layer_fails_the_check(build_dir: Path, tmp_path: Path) -> None:
    """Given a layer without PyJWT, which the WebSocket $connect handler needs and the event routes do not
    When the check runs on both
    Then exactly the function that imports jwt fails, and the CLI exits 1 with the report"""
    copy = _copy(build_dir, tmp_path, ["WebSocketFunction", "CreateEventFunction"])
    for layer in _layers(copy):
        for path in layer.glob("jwt*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        for path in layer.glob("PyJWT*"):
            shutil.rmtree(path)
    # When
    results = {r.function: r for r in artifact.check(copy, ["WebSocketFunction", "CreateEventFunction"])}
    # Then
    assert results["WebSocketFunction"].error == "ModuleNotFoundError: No module named 'jwt'"
    assert results["CreateEventFunction"].ok
    assert artifact.main(["check", str(copy), "--function", "WebSocketFunction"]) == 1


def test_a_handler_that_does_not_exist_fails_the_check(build_dir: Path, tmp_path: Path) -> None:
    """Given a built template whose handler names a function the module does not define
    When the check runs
    Then it fails on the missing attribute."""
    copy = _copy(build_dir, tmp_path, ["GetEventFunction"])
    template = copy / "template.yaml"
    text = template.read_text()
    assert "Handler: get_event.lambda_handler" in text
    template.write_text(text.replace("Handler: get_event.lambda_handler", "Handler: get_event.handler"))
    # When / Then
    [result] = artifact.check(copy, ["GetEventFunction"])
    assert not result.ok and result.error.startswith("AttributeError"), result.error


def _imported_top_level_modules(folders: list[Path]) -> dict[str, str]:
    """{top-level module: first file importing it} for every import in the code, nested and lazy ones included."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_the_layer_carries_every_module_the_code_imports_and_nothing_dev_only(build_dir: Path) -> None:
    """Given every import in the functions and the arena package, lazy ones included
    When they are compared with the built layer
    Then each is the standard library's or the layer's, and the layer holds no dev-only tooling."""
    imported = _imported_top_level_modules([ROOT / "functions", ROOT / "layers" / "shared" / "python" / "arena"])
    layer = tpl.layer_python_dirs(tpl.load_template(build_dir / "template.yaml"), build_dir)[0]
    shipped = {path.name.removesuffix(".py") for path in layer.iterdir()}
    # Then each is the standard library's or the layer's (boto3 included: the runtime's own is not relied on)
    missing = {
        name: where for name, where in imported.items() if name not in sys.stdlib_module_names and name not in shipped
    }
    assert not missing, f"imported but not shipped: {missing}"
    # And the layer holds no test, deploy or local-stack tooling
    assert not shipped & set(DEV_ONLY), shipped & set(DEV_ONLY)


def test_a_nested_stack_s_function_imports_from_its_own_stack_s_layer(build_dir: Path, tmp_path: Path) -> None:
    """Given a copy whose parent layer lost PyJWT while the real-time stack's layer keeps it
    When the WebSocket function (RealtimeStack) is checked
    Then it imports from its own folder and its own stack's layer, never the parent's"""
    copy = _copy(build_dir, tmp_path, ["WebSocketFunction"])
    for path in [*(copy / "SharedLayer" / "python").glob("jwt*"), *(copy / "SharedLayer" / "python").glob("PyJWT*")]:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    template = tpl.load_template(copy / "template.yaml")
    (spec,) = [s for s in tpl.functions(template) if s.logical_id == "WebSocketFunction"]

    # When
    [result] = artifact.check(copy, ["WebSocketFunction"])

    # Then
    assert (result.ok, result.error) == (True, None)
    assert artifact.lambda_path(copy, template, spec) == [
        str((copy / "RealtimeStack" / "WebSocketFunction").resolve()),
        str((copy / "RealtimeStack" / "RealtimeSharedLayer" / "python").resolve()),
    ]
