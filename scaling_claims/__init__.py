"""scaling-claims: neural scaling-law claims as a pytest suite.

The package is laid out by stage of the data flow, one folder per stage (docs/engine.md;
docs/library.md). A stage imports itself and the stages before it, never a later one, and no
two files import each other, directly or round a loop (tests/test_layout.py):

1. ``scaling_claims.common``    what every stage shares and no stage owns: ``jsonio`` (values
   made JSON-ready, atomic file writes). Standard library only.
2. ``scaling_claims.fit``       pure NumPy/SciPy fitters (power laws, Chinchilla, IsoFLOP, ...);
   imports neither the engine nor the runs.
3. ``scaling_claims.engine``    what a run is and how it trains: ``specs`` (RunSpec / RunResult),
   ``models``, ``data``, ``evals``, ``training`` (``train(spec) -> RunResult``), ``ensemble``,
   ``device``, ``flops``. Its public names are importable from ``scaling_claims.engine``. It
   imports only itself and the pure fitters (``fit.forecast``, for the early-stop rule).
4. ``scaling_claims.runs``      filling the run cache: ``cache``, ``executors``, ``batches``,
   ``ray_executor``, ``sweep``, ``live``, ``trainer``. It uses the engine through
   ``scaling_claims.engine`` only.
5. ``scaling_claims.verdicts``  deciding a claim: ``estimates`` (values with intervals),
   ``checks``, ``expect``, ``records``, ``report``, ``html_report``, ``pages``, ``plots``,
   ``headlines``, ``ladder_law``, ``metric_artifact``, ``conformance``.
6. ``scaling_claims.studies``   the claims' designs and domain helpers: ``ladders`` (the claims'
   run plans), ``data_value``, ``learning_curves``, ``critical`` (the critical-size
   bisection), ``quanta``, ``peaks``, ``grokking``, ``theory``, ``metrics`` (pass@k).
7. ``scaling_claims.plugin``    the pytest plugins: ``pytest_plugin`` (options, the run cache,
   the ``sweep`` fixture), ``claims_plugin`` (claim records, artifacts, the report), and
   ``options`` (the run options the plugin and the command line share).
8. ``scaling_claims.tool``      the ``scaling-claims`` command (``cli``), the planner (``plan``),
   fitting your own runs (``userruns``, ``runs_plot``) and the helpers for bringing your own
   trainer (``trainers``, ``--trainer MODULE:FUNCTION``: docs/trainers.md).
"""

__version__ = "0.1.0"
