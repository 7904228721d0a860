"""`python -m jobu_local ...`: the `jobu` command."""

import sys

from jobu_local.cli import main

sys.exit(main())
