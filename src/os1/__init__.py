"""OS1: a private, local AI companion."""

__version__ = "0.1.0"
