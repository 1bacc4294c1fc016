"""``python -m devstack.evaluation``: see :mod:`devstack.evaluation.cli`."""
from .cli import main

raise SystemExit(main())
