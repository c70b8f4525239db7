"""The function library of each dialect, and the functions each refuses (with the reason)."""

from __future__ import annotations

from idsync.expressions import fn_flow as flow
from idsync.expressions import fn_text as txt
from idsync.expressions.library import FunctionInfo, Library
from idsync.expressions.values import Dialect

_APP_ROLES = (
    "works on the app role assignments of an Entra enterprise application, which a synchronization engine does "
    "not have; flow the role from a source attribute instead"
)

ENTRA = Library.of(
    [
        flow.COALESCE,
        flow.ERROR,
        flow.IGNORE_FLOW_IF_NULL_OR_EMPTY,
        flow.IIF,
        flow.REDACT,
        flow.SELECT_UNIQUE_VALUE,
        flow.SWITCH_ENTRA,
        txt.APPEND,
        txt.JOIN_ENTRA,
        txt.NORMALIZE_DIACRITICS,
        txt.TO_LOWER,
        txt.TO_UPPER,
    ],
    refused={
        "AppRoleAssignmentsComplex": _APP_ROLES,
        "SingleAppRoleAssignment": _APP_ROLES,
        "AssertiveAppRoleAssignmentsComplex": _APP_ROLES,
    },
)

CONNECT = Library.of(
    [
        flow.ERROR,
        flow.IIF,
        flow.SELECT,
        flow.SWITCH_CONNECT,
        flow.WHERE,
        flow.WITH,
        txt.JOIN_CONNECT,
        txt.LCASE,
        txt.UCASE,
    ],
    refused={},
)

LIBRARIES = {Dialect.ENTRA: ENTRA, Dialect.CONNECT: CONNECT}


def library(dialect: Dialect) -> Library:
    return LIBRARIES[dialect]


def list_functions(dialect: Dialect | str = Dialect.ENTRA) -> list[FunctionInfo]:
    """Every function of a dialect with its signature, a one-line summary and an example, sorted by name."""
    return LIBRARIES[Dialect(dialect)].infos()
