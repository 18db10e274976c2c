"""``imgflow soak`` and ``imgflow soak --burst``: many uploads through the real path on a local stack, then
the outcome read like an operator would. Builds on the local stack (``local``) and the operator code
(``ops``)."""
