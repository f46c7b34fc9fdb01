"""The claims' designs and domain helpers: ``ladders`` (the claims' run plans), ``data_value``
(repeated and corrupted data), ``learning_curves`` (forecasts and the early-stop replay),
``critical`` (the critical-size bisection), ``quanta``, ``peaks`` (double-descent peaks),
``grokking``, ``theory`` (closed forms) and ``metrics`` (pass@k)."""
