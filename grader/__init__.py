"""An automated grader for small-model deep-learning assignments (MNIST, fewer than 20k parameters)."""

__version__ = "0.1.0"
