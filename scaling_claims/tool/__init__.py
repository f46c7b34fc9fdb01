"""The user's tools: the ``scaling-claims`` command (``cli``), the planner (``plan``), reading
and fitting your own runs (``userruns``; their plot, ``runs_plot``) and the helpers for bringing
your own trainer (``trainers``)."""
