"""``python -m convscope`` runs the command-line interface."""

from convscope.cli import main

raise SystemExit(main())
