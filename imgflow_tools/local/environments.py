"""Each function's own environment on the local stack: the one its template gives it, not the process's.

In AWS every function is its own process with the ``Environment.Variables`` of its template resource; the
local stack runs them all in one process. ``function_environment`` composes what ``imgflow.config.settings()``
reads on a thread that runs a function's handler (``LocalIam.activate`` sets the overlay):

- the process environment without any ``IMGFLOW_*`` / ``POWERTOOLS_*`` variable (``AWS_*``, ``PATH``...: what
  the Lambda runtime provides);
- the variables the template gives that function, each with the local value where the local configuration
  sets it (the local stack's configuration stands for the deploy's: a test's small ``IMGFLOW_MAX_BYTES``),
  else the template's;
- ``DEPLOY_CONFIGURED``: variables the CDK app gives every function only when the deploy configures them.

So a variable missing from a function's template environment is missing when it runs locally.
"""

from __future__ import annotations

from collections.abc import Mapping

RUNTIME_PREFIXES = ("IMGFLOW_", "POWERTOOLS_")
#: infra/constructs/functions.py sets these on every function when the stage configures them (the template
#: synthesized with the default configuration has none).
DEPLOY_CONFIGURED = ("IMGFLOW_RENDITIONS",)
#: Derived from the configuration in the template and at run time alike: the template's value is that of
#: the default configuration, so the local configuration's own derivation stands (its value, or none).
DERIVED = ("IMGFLOW_PIPELINE_VERSION",)


def function_environment(template: Mapping[str, str], process: Mapping[str, str]) -> dict[str, str]:
    """The environment a function with ``template``'s variables sees, beside ``process``'s."""
    env = {k: v for k, v in process.items() if not k.startswith(RUNTIME_PREFIXES)}
    for name, value in template.items():
        if name in DERIVED:
            if name in process:
                env[name] = process[name]
        else:
            env[name] = process.get(name, value)
    env.update({name: process[name] for name in DEPLOY_CONFIGURED if name in process})
    return env
