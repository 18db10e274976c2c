"""The ASL files in statemachine/: the one definition of each workflow, read as text and substituted.

CDK inlines the same text with ``definition_substitutions``; the local mode substitutes with ``render``.
"""

from __future__ import annotations

import re
from pathlib import Path

STATEMACHINE_DIR = Path(__file__).resolve().parents[2] / "statemachine"
INGEST = "ingest"
REPROCESS = "reprocess"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition_path(name: str = INGEST) -> Path:
    return STATEMACHINE_DIR / f"{name}.asl.json"


def definition_text(name: str = INGEST) -> str:
    return definition_path(name).read_text()


def placeholders(text: str) -> set[str]:
    """The ``${...}`` names a definition expects."""
    return set(_PLACEHOLDER.findall(text))


def render(text: str, values: dict[str, str]) -> str:
    """Substitute every placeholder; missing or unused values are errors (CDK would not notice)."""
    expected = placeholders(text)
    if expected != set(values):
        raise ValueError(f"substitutions {sorted(values)} do not match placeholders {sorted(expected)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def upload_event_pattern(bucket: str, prefix: str) -> dict[str, object]:
    """The EventBridge pattern that starts the ingest workflow: Object Created under the uploads prefix."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }
