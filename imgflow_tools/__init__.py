"""The tools: the local stack, the operator CLI and the demo.

Never shipped to Lambda, and never imported by the runtime (``imgflow``, ``tasks``, ``api``).
"""
