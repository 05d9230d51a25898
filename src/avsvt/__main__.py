"""``python -m avsvt``."""

import sys

from avsvt.cli import main

sys.exit(main())
