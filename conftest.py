"""Registers the scaling-claims pytest plugins for everything under this directory.

- ``scaling_claims.plugin.pytest_plugin``: --device, --budget, --executor, --cache-dir, --refresh,
  the sweep fixtures, default deselection of slow/bench tests.
- ``scaling_claims.plugin.claims_plugin``: claim records, artifacts, the session report and the
  terminal claims table.
"""

pytest_plugins = ["scaling_claims.plugin.pytest_plugin", "scaling_claims.plugin.claims_plugin"]
