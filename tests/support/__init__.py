"""Helpers shared by the test suites (conftests register the fixtures; tests import from here).

- ``paths``: the repo root and the corpus beside it; ``corpus``: the corpus's expected verdicts.
- ``images``: the one image factory (``gradient``, ``encode``, ``jpeg_bytes``).
- ``faults``: the one fault hook at the AWS boundary of the task code (``injecting``) and its error makers.
- ``cloud``: the local stack (``running_cloud``, ``deployed``) and what tests do to it (uploads, histories).
- ``waiting``: the one waiter (``until``) and what tests wait for (an execution, a record, an image).
- ``serve``/``served``: a real ``imgflow serve`` in its own process and its HTTP side.
- ``raw_http``: HTTP where the test controls every byte; ``synth``: the synthesized CDK app.
- ``asl``: the states of a definition; ``records``: a claim written directly.
(The browser suite's own helpers are in tests/browser/support.py.)
"""
