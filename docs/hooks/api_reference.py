"""MkDocs hook: the API reference page, written at build time from the app's own OpenAPI schema.

Generated rather than committed, so it cannot fall behind the code: every build asks
`backend.app.create_app` for `/openapi.json` (no server, no database: the schema needs
neither) and turns it into Markdown, the operations by tag and then every model. The page is
added to the build as `api-reference.md`; nothing is written into `docs/`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "api-reference.md"
METHODS = ("get", "post", "put", "patch", "delete")
Schema = dict[str, Any]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated page to the site's files (MkDocs hook)."""
    files.append(File.generated(config, PAGE, content=reference(openapi_schema())))
    return files


@contextmanager
def without_freshline_environment() -> Iterator[None]:
    """A developer's FRESHLINE_* variables (a settings file, a server) must not shape the page."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("FRESHLINE_")}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def openapi_schema() -> Schema:
    """The schema a backend serves at /openapi.json, from an app that is never started."""
    from backend.app import create_app
    from backend.settings import Settings

    with without_freshline_environment():
        app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
        return app.openapi()


def reference(schema: Schema) -> str:
    """The whole page: a preface, the operations by tag, then the models."""
    info = schema.get("info", {})
    lines = [
        "# API reference",
        "",
        f"Every operation of the REST API and every model on the wire, generated when this site "
        f"is built from the OpenAPI schema the backend serves at `/openapi.json` "
        f"({info.get('title', 'Freshline')} {info.get('version', '')}, OpenAPI "
        f"{schema.get('openapi', '')}): it cannot drift from the code. A running backend also "
        f"serves it interactively at `/api/v1/docs`. Conventions (tokens, errors, idempotency, "
        f"strict input) are on [REST API](api.md); who may call what on "
        f"[Accounts and permissions](permissions.md).",
        "",
    ]
    by_tag = operations_by_tag(schema)
    lines += ["Operations by tag: " + ", ".join(f"[{tag}](#{anchor(tag)})" for tag in by_tag), ""]
    for tag, operations in by_tag.items():
        lines += [f"## {tag} {{ #{anchor(tag)} }}", ""]
        for method, path, operation in operations:
            lines += operation_section(method, path, operation)
    lines += ["## Models { #models }", ""]
    for name, model in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += model_section(name, model)
    return "\n".join(lines) + "\n"


def operations_by_tag(schema: Schema) -> dict[str, list[tuple[str, str, Schema]]]:
    """Operations grouped by their first tag, tags in the order they first appear."""
    groups: dict[str, list[tuple[str, str, Schema]]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append((method.upper(), path, operation))
    return groups


def operation_section(method: str, path: str, operation: Schema) -> list[str]:
    lines = [f"### `{method} {path}`", ""]
    if operation.get("summary"):
        lines += [f"**{operation['summary']}**", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    if operation.get("security"):
        lines += ["Needs a bearer token (`Authorization: Bearer TOKEN`).", ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                row(
                    f"`{parameter['name']}`",
                    parameter.get("in", ""),
                    type_of(parameter.get("schema", {})),
                    "yes" if parameter.get("required") else "",
                    parameter.get("description") or parameter.get("schema", {}).get("description"),
                )
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for content_type, content in body.get("content", {}).items():
            required = ", required" if body.get("required") else ""
            lines += [
                f"Request body ({content_type}{required}): {type_of(content.get('schema', {}))}",
                "",
            ]
    responses = operation.get("responses", {})
    if responses:
        lines += ["| status | meaning | body |", "|---|---|---|"]
        for status, response in sorted(responses.items()):
            content = response.get("content", {})
            body_types = ", ".join(type_of(c.get("schema", {})) for c in content.values() if c)
            lines.append(row(f"`{status}`", response.get("description"), body_types))
        lines.append("")
    return lines


def model_section(name: str, model: Schema) -> list[str]:
    lines = [f"### {name} {{ #{model_anchor(name)} }}", ""]
    if model.get("description"):
        lines += [one_paragraph(model["description"]), ""]
    properties = model.get("properties", {})
    if properties:
        required = set(model.get("required", []))
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, field_schema in properties.items():
            lines.append(
                row(
                    f"`{field}`",
                    type_of(field_schema),
                    "yes" if field in required else "",
                    field_schema.get("description"),
                )
            )
        lines.append("")
    elif model.get("enum"):
        lines += ["One of " + ", ".join(f"`{value}`" for value in model["enum"]) + ".", ""]
    else:
        lines += [f"Type: {type_of(model)}", ""]
    return lines


def type_of(schema: Schema) -> str:
    """A schema in a few words, models as links to their section below."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{model_anchor(name)})"
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return " or ".join(alternative(part) for part in schema[combinator])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_of({**schema, "type": part}) for part in kind)
    if kind == "array":
        return "list of " + type_of(schema.get("items", {}))
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        return "map to " + (type_of(values) if isinstance(values, dict) else "anything")
    words = kind or "any"
    if "format" in schema:
        words += f" ({schema['format']})"
    limits = [
        f"{label} {number(schema[key])}"
        for key, label in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
            ("minItems", "items ≥"),
            ("maxItems", "items ≤"),
        )
        if key in schema
    ]
    return words + (f", {', '.join(limits)}" if limits else "")


def alternative(schema: Schema) -> str:
    """One of several types; bracketed when it has limits, so "or" reads unambiguously."""
    words = type_of(schema)
    return f"({words})" if ", " in words else words


def number(value: object) -> str:
    # Pydantic writes integer limits as floats (1.0); show them as people write them.
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def row(*cells: object) -> str:
    return "| " + " | ".join(cell_text(cell) for cell in cells) + " |"


def cell_text(cell: object) -> str:
    # Descriptions may hold pipes and newlines, which would break a Markdown table row.
    return one_paragraph(str(cell or "")).replace("|", "\\|")


def one_paragraph(text: str) -> str:
    return " ".join(text.split())


def anchor(tag: str) -> str:
    return "tag-" + "-".join(tag.lower().split())


def model_anchor(name: str) -> str:
    return "model-" + name.lower()
