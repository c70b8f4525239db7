"""What a configuration problem is and where it is: file, line, column and the path of the setting.

Kept apart from the loader and the pydantic models so that reporting a problem, or naming the configuration file,
loads neither: ``idsync --help`` and the commands that open no workspace start without them.
"""

from __future__ import annotations

from dataclasses import dataclass

Path_ = tuple[str | int, ...]

CONFIG_FILE = "idsync.yaml"


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    message: str
    position: Position | None = None
    path: Path_ = ()

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        dotted = ".".join(str(p) for p in self.path)
        return f"{where}{dotted + ': ' if dotted else ''}{self.message}"


class ConfigError(Exception):
    """One or more configuration problems, each with its position."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
