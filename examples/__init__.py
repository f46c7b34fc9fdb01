"""Examples that import from a checkout of the repository (run from its root): ``examples.trainers``."""
