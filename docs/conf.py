"""Sphinx configuration of the waferopt documentation (built by `nox -s docs`).

docs/README.md says why this toolchain; docs/_ext/waferopt_docs.py holds the
project's own directives (schedule gallery, CLI reference, Model Zoo keys) and writes
the API pages of every installed first-party package at build time.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "waferopt"
author = "the waferopt authors"
copyright = "the waferopt authors, Apache-2.0"

try:
    from waferopt.core import __version__ as release
except ImportError:  # building without the packages installed fails later, at autodoc
    release = "unknown"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax shipped with the site: formulas render offline
    "waferopt_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "tests", "Thumbs.db", ".DS_Store"]

# MyST: `(label)=` targets, $math$, ::: fences, and links to headings by slug
# (`page.md#some-heading`), which docs/tests/test_citations.py checks as well.
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "attrs_inline"]
myst_heading_anchors = 4

# autodoc: signatures with their defaults, type hints in the description,
# members in source order, the class docstring plus __init__'s.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_class_signature = "mixed"
autoclass_content = "class"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# "Attributes:" sections as fields of the class, not attribute entries: a dataclass field
# documented there and by autodoc would otherwise be described twice.
napoleon_use_ivar = True
# Type hints are strings (`from __future__ import annotations`) naming torch types that
# Sphinx has no inventory for (the build is offline): do not warn on every one.
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = f"waferopt {release}"
html_static_path = ["_static"]
html_css_files = ["gallery.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"gallery/index": []}
html_show_sourcelink = False
html_copy_source = False

# The project's own extension (docs/_ext/waferopt_docs.py).
waferopt_gallery_steps = 100
