"""Multi-process tests (gloo on loopback), run by ``nox -s distributed``.

The helper modules (``_harness``, ``_jobs``) are imported by name, here and in the
spawned ranks (which inherit ``sys.path``), so this folder goes on the path.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
