"""The web page: sources in ``web/src``, built into ``web/dist`` by ``python -m web.build`` (make setup)."""
