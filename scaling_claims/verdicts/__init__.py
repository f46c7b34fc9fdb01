"""Deciding a claim: ``estimates`` (values with intervals), ``checks`` (verdicts decided by where
the whole interval lies), ``expect`` (pre-registered expectations), ``records``, ``report`` and
``html_report`` (the session report), ``pages`` (the committed results pages), ``plots``,
``headlines``, ``ladder_law``, ``metric_artifact`` and ``conformance`` (a ``--trainer``
session's verdicts beside the engine's). The pytest plumbing is in ``scaling_claims.plugin``."""
