"""``python -m scaling_claims.tool.cli``: the same as the ``scaling-claims`` command."""

import sys

from scaling_claims.tool.cli import main

sys.exit(main())
