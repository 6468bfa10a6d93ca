"""Onboarding: what a repository holds (``facts``), explained (``tour``), what this
machine still needs (``doctor``), and the first commands after ``putup`` (``next_steps``).

Nothing here imports at package import time: ``dsops --help`` stays fast.
"""
