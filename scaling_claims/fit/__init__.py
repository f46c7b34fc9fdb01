"""Scaling-law fitters: pure NumPy/SciPy, float64, no torch and no pytest.

Every fitter returns one result object (:class:`FitResult` or a subclass) carrying the
parameters, standard errors, 95% confidence intervals, goodness of fit (``r2``), ``predict()``
and ``to_dict()``; bad input raises ``ValueError`` naming the problem. See docs/fitting.md.
"""

from ._result import FitResult
from .chinchilla import ChinchillaBootstrap, ChinchillaFit, chinchilla_loss, fit_chinchilla, optimal_allocation
from .data_constrained import (DataConstrainedBootstrap, DataConstrainedFit, data_constrained_loss, effective_data,
                               effective_params, fit_data_constrained, repeated_token_value, unique_params)
from .extrapolation import (Extrapolation, ExtrapolationCheck, Rollout, extrapolate, leave_largest_out, leave_one_out,
                            rollout, trust_grade)
from .forecast import (Forecast, StopDecision, annealing_areas, early_stop_decision, fit_annealing_law,
                       forecast_final_loss)
from .forms import best_of_n_kl, fit_coverage_law, fit_gao, fit_learning_curve, fit_logistic, fit_saturating
from .emergence import (TwoStepFit, critical_crossing, fit_critical, fit_loss_to_accuracy, fit_two_step,
                        logistic_crossing, loss_at_accuracy)
from .isoflop import IsoFLOPFit, fit_isoflop_approach1, fit_isoflop_approach2
from .kaplan import fit_kaplan_nd, kaplan_nd_loss
from .mixing import fit_linear_mixing, fit_mixing_law, optimal_mixture, predict_mixing, simplex_grid
from .power_law import fit_power_law

__all__ = [
    "FitResult", "ChinchillaFit", "ChinchillaBootstrap", "IsoFLOPFit", "Extrapolation", "ExtrapolationCheck",
    "fit_power_law", "fit_kaplan_nd", "kaplan_nd_loss", "fit_chinchilla", "chinchilla_loss", "optimal_allocation", "fit_isoflop_approach1",
    "fit_isoflop_approach2",
    "fit_logistic", "fit_coverage_law", "fit_saturating", "fit_gao", "best_of_n_kl", "fit_learning_curve",
    "leave_one_out", "leave_largest_out", "extrapolate", "trust_grade", "rollout", "Rollout",
    "forecast_final_loss", "Forecast", "annealing_areas", "fit_annealing_law", "early_stop_decision",
    "StopDecision",
    "fit_data_constrained", "DataConstrainedFit", "DataConstrainedBootstrap", "data_constrained_loss",
    "effective_data", "effective_params", "unique_params", "repeated_token_value",
    "fit_two_step", "TwoStepFit", "fit_loss_to_accuracy", "loss_at_accuracy", "logistic_crossing", "fit_critical",
    "critical_crossing",
    "fit_mixing_law", "fit_linear_mixing", "predict_mixing", "optimal_mixture", "simplex_grid",
]
