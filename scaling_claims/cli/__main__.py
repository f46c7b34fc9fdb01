"""``python -m scaling_claims.cli``: the same as the ``scaling-claims`` command."""

import sys

from scaling_claims.cli import main

sys.exit(main())
