"""Shared pytest fixtures (pytest loads this file automatically)."""
