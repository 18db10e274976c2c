"""Mutation fuzzing of validate and extract_meta (``python -m tests.fuzz --help``)."""
