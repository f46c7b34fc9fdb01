"""Claim support: ``estimates`` (values with intervals), ``checks`` (verdicts decided by where
the whole interval lies), ``expect`` (pre-registered expectations), ``records``, ``plots``,
``report``, and the pytest plugins: ``pytest_plugin`` (devices, executors, the run cache and
the ``sweep`` fixture) and ``claims_plugin`` (claim records, artifacts and the report)."""
