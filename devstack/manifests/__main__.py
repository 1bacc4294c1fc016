"""Run the manifest validator: ``python -m devstack.manifests validate [paths]``."""
import sys

from .cli import main

sys.exit(main())
