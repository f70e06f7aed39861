"""MkDocs hook: the site's home page is README.md, so the front door has one text.

README sits at the repository's root and links into `docs/` (and to `bench/README.md`) as
GitHub reads it; on the site those same pages sit one level up, so the links are rewritten
as the page is added. Nothing is written into `docs/`.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "index.md"
# README's links and images as GitHub resolves them, and as the site does.
REWRITES = {"](docs/": "](", "](bench/README.md)": "](benchmarks.md)"}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add README, its links made the site's, as the home page (MkDocs hook)."""
    readme = (Path(config.config_file_path).parent / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, PAGE, content=front_page(readme)))
    return files


def front_page(readme: str) -> str:
    for github, site in REWRITES.items():
        readme = readme.replace(github, site)
    return readme
