"""Run the classroom tools: ``python -m xorattn.classroom --help``."""

import sys

from .cli import main

sys.exit(main())
