"""The function library of each dialect, and the functions each refuses (with the reason)."""

from __future__ import annotations

from idsync.expressions import fn_convert as cv
from idsync.expressions import fn_dates as dt
from idsync.expressions import fn_directory as dn
from idsync.expressions import fn_flow as flow
from idsync.expressions import fn_multivalued as mv
from idsync.expressions import fn_text as txt
from idsync.expressions.library import FunctionInfo, Library
from idsync.expressions.values import Dialect

_APP_ROLES = (
    "works on the app role assignments of an Entra enterprise application, which a synchronization engine does "
    "not have; flow the role from a source attribute instead"
)
_CERTIFICATES = (
    "reads X.509 certificates, which idsync's expressions do not parse; filter or transform certificates in the "
    "connector instead"
)
_CERTIFICATE_FUNCTIONS = [
    "CertExtensionOids",
    "CertFormat",
    "CertFriendlyName",
    "CertHashString",
    "CertIssuer",
    "CertIssuerDN",
    "CertIssuerOid",
    "CertKeyAlgorithm",
    "CertKeyAlgorithmParams",
    "CertNameInfo",
    "CertNotAfter",
    "CertNotBefore",
    "CertPublicKeyOid",
    "CertPublicKeyParametersOid",
    "CertSerialNumber",
    "CertSignatureAlgorithmOid",
    "CertSubject",
    "CertSubjectNameDN",
    "CertSubjectNameOid",
    "CertThumbprint",
    "CertVersion",
    "IsCert",
]

ENTRA = Library.of(
    [
        txt.APPEND,
        cv.BIT_AND,
        cv.CBOOL,
        cv.CDATE,
        flow.COALESCE,
        cv.CONVERT_FROM_BASE64,
        cv.CONVERT_TO_BASE64,
        cv.CONVERT_TO_UTF8_HEX,
        mv.COUNT,
        cv.CREF,  # not listed by Entra, but cloud sync's own DNComponent example calls it
        cv.CSTR,
        dt.DATE_ADD_ENTRA,
        dt.DATE_DIFF,
        dt.DATE_FROM_NUM,
        dn.DN_COMPONENT,
        flow.ERROR,
        dt.FORMAT_DATE_TIME_ENTRA,
        cv.GUID,
        flow.IGNORE_FLOW_IF_NULL_OR_EMPTY,
        flow.IIF,
        txt.INSTR,
        cv.IS_NULL,
        cv.IS_NULL_OR_EMPTY,
        cv.IS_PRESENT,
        cv.IS_STRING,
        mv.ITEM,
        txt.JOIN_ENTRA,
        txt.LEFT,
        txt.MID_ENTRA,
        txt.NORMALIZE_DIACRITICS,
        cv.NOT,
        dt.NOW,
        dt.NUM_FROM_DATE,
        txt.PCASE_ENTRA,
        cv.RANDOM_STRING,
        flow.REDACT,
        mv.REMOVE_DUPLICATES,
        txt.REPLACE_ENTRA,
        flow.SELECT_UNIQUE_VALUE,
        mv.SPLIT_ENTRA,
        cv.STRING_FROM_SID,
        txt.STRIP_SPACES,
        flow.SWITCH_ENTRA,
        txt.TO_LOWER,
        txt.TO_UPPER,
        txt.TRIM,
        txt.WORD,
    ],
    refused={
        "AppRoleAssignmentsComplex": _APP_ROLES,
        "SingleAppRoleAssignment": _APP_ROLES,
        "AssertiveAppRoleAssignmentsComplex": _APP_ROLES,
    },
)

CONNECT = Library.of(
    [
        cv.BIT_AND,
        cv.BIT_OR,
        cv.CBOOL,
        cv.CDATE,
        cv.CGUID,
        cv.CNUM,
        mv.CONTAINS,
        cv.CONVERT_FROM_BASE64,
        cv.CONVERT_FROM_UTF8_HEX,
        cv.CONVERT_TO_BASE64,
        cv.CONVERT_TO_UTF8_HEX,
        mv.COUNT,
        cv.CREF,
        cv.CSTR,
        dt.DATE_ADD_CONNECT,
        dt.DATE_FROM_NUM,
        dn.DN_COMPONENT,
        dn.DN_COMPONENT_REV,
        flow.ERROR,
        dn.ESCAPE_DN_COMPONENT,
        dt.FORMAT_DATE_TIME_CONNECT,
        cv.GUID,
        flow.IIF,
        txt.INSTR,
        txt.INSTR_REV,
        cv.IS_BIT_SET,
        cv.IS_DATE,
        cv.IS_EMPTY,
        cv.IS_GUID,
        cv.IS_NULL,
        cv.IS_NULL_OR_EMPTY,
        cv.IS_NUMERIC,
        cv.IS_PRESENT,
        cv.IS_STRING,
        mv.ITEM,
        mv.ITEM_OR_NULL,
        txt.JOIN_CONNECT,
        txt.LCASE,
        txt.LEFT,
        txt.LEN,
        txt.LTRIM,
        txt.MID_CONNECT,
        dt.NOW,
        dt.NUM_FROM_DATE,
        txt.PAD_LEFT,
        txt.PAD_RIGHT,
        txt.PCASE_CONNECT,
        cv.RANDOM_NUM,
        mv.REMOVE_DUPLICATES,
        txt.REPLACE_CONNECT,
        txt.REPLACE_CHARS,
        txt.RIGHT,
        txt.RTRIM,
        flow.SELECT,
        mv.SPLIT_CONNECT,
        cv.STRING_FROM_GUID,
        cv.STRING_FROM_SID,
        flow.SWITCH_CONNECT,
        txt.TRIM,
        txt.UCASE,
        flow.WHERE,
        flow.WITH,
        txt.WORD,
    ],
    refused=dict.fromkeys(_CERTIFICATE_FUNCTIONS, _CERTIFICATES),
)

LIBRARIES = {Dialect.ENTRA: ENTRA, Dialect.CONNECT: CONNECT}


def library(dialect: Dialect) -> Library:
    return LIBRARIES[dialect]


def list_functions(dialect: Dialect | str = Dialect.ENTRA) -> list[FunctionInfo]:
    """Every function of a dialect with its signature, a one-line summary and an example, sorted by name."""
    return LIBRARIES[Dialect(dialect)].infos()
