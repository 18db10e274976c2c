"""What imgflow knows of its Step Functions workflows: the definitions (``asl``), the functions, the
graph, run histories and executions (every Step Functions call)."""
