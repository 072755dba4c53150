"""nisflow: neural importance sampling with normalizing flows on the unit hypercube."""

__version__ = "0.1.0"

__all__ = ["__version__"]
