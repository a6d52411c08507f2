"""Entry point of the frozen WhyLab bundle (PyInstaller runs this as ``whylab``)."""

import sys

from whylab.cli import main

if __name__ == "__main__":
    sys.exit(main())
