"""Setuptools entry point: the configuration lives in setup.cfg."""

from setuptools import setup

if __name__ == "__main__":
    setup(
        use_scm_version={"version_scheme": "no-guess-dev", "fallback_version": "0.0.0"}
    )
