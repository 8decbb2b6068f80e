"""`python -m mtbridge_demo [ARGS]`: the same as `mtbridge demo [ARGS]`."""

import sys

from mtbridge_demo.commands import main

raise SystemExit(main(sys.argv[1:]))
