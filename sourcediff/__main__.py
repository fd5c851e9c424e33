"""``python -m sourcediff FILE::FUNC ...``: the same as the ``sourcediff`` command."""
from .cli import main

raise SystemExit(main())
