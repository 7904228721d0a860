"""`python -m jobu_local ...`: the `jobu` command."""

import sys

from jobu_local.commands.cli import main

sys.exit(main())
