"""Entry point of `python -m xorattn`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m xorattn"))
