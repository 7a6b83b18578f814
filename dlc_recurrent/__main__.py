"""``python -m dlc_recurrent``: the dlc-recurrent command line."""

import sys

from dlc_recurrent.cli import main

sys.exit(main())
