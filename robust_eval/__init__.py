"""robust-eval: evaluate and improve the adversarial robustness of transformer text classifiers."""

__version__ = "0.1.0"
