"""bluegreen: zero-downtime Blue-Green deploys of Docker containers behind nginx."""

__version__ = "0.1.0"
