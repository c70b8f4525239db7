"""A private OpenLDAP slapd for the tests: its own cn=config, mdb, accesslog and syncprov, on loopback.

The configuration is generated offline with ``slapadd -n0`` into a folder the caller owns, so the system slapd
(if any) and /etc/ldap are never touched. The data survives :meth:`SlapdServer.restart` (the resilience tests
stop the server in the middle of a run), and ``db_nosync`` trades durability for speed, which is right for
throw-away test data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from idsync.connectors.ldap.passwords import ssha
from idsync.testing.directories.ldaptools import LdapTools
from idsync.testing.directories.process import (
    DirectoryServerUnavailable,
    ManagedServer,
    free_port,
    require_binary,
    run_tool,
    write_secret,
)
from idsync.testing.directories.tls import TestCA

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
ACCESSLOG_SUFFIX = "cn=accesslog"


@dataclass(frozen=True, slots=True)
class SlapdSettings:
    base_dn: str = "dc=example,dc=org"
    tls: bool = True
    """Also listen on ldaps:// and accept StartTLS, with a CA and certificate made at start."""
    db_nosync: bool = True
    max_size: int = 4 << 30
    """mdb map size per database: room for 100,000 entries plus their accesslog records."""
    session_log: int = 100_000
    """syncprov's session log: how many recent writes a refreshOnly delta can replay (deletes included)."""
    size_limit: int = 1000
    """The frontend limit for everyone but the admin, as on a production server."""
    schemas: tuple[str, ...] = ("core", "cosine", "nis", "inetorgperson")
    start_timeout: float = 30.0


@dataclass
class SlapdServer(ManagedServer):
    """A private slapd: where it listens, who administers it, and the controls to stop, restart and load it."""

    folder: Path
    settings: SlapdSettings
    port: int
    tls_port: int | None
    admin_password: str = field(repr=False)
    ca_file: Path | None = None

    server_name: ClassVar[str] = "slapd"

    @property
    def base_dn(self) -> str:
        return self.settings.base_dn

    @property
    def admin_dn(self) -> str:
        return f"cn=admin,{self.settings.base_dn}"

    @property
    def accesslog_dn(self) -> str:
        return ACCESSLOG_SUFFIX

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def ldaps_url(self) -> str | None:
        return None if self.tls_port is None else f"ldaps://{self.host}:{self.tls_port}"

    @property
    def password_file(self) -> Path:
        return self.folder / "run" / "admin.pw"

    @property
    def log_file(self) -> Path:
        return self.folder / "run" / "slapd.log"

    # -- life cycle -------------------------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: Path, settings: SlapdSettings | None = None) -> SlapdServer:
        """Generate the configuration and base entries in ``folder`` (not started yet)."""
        settings = settings or SlapdSettings()
        require_binary("slapd", "slapd")
        require_binary("ldapadd", "ldap-utils")
        for module in ("back_mdb", "accesslog", "syncprov"):
            if not (MODULE_DIR / f"{module}.so").exists() and not (MODULE_DIR / f"{module}.la").exists():
                raise DirectoryServerUnavailable(f"slapd module {module} is missing from {MODULE_DIR}")
        folder.mkdir(parents=True, exist_ok=True)
        for sub in ("slapd.d", "data", "accesslog", "run"):
            (folder / sub).mkdir(mode=0o700, exist_ok=True)
        server = cls(
            folder=folder,
            settings=settings,
            port=free_port(),
            tls_port=free_port() if settings.tls else None,
            admin_password=secrets.token_urlsafe(18),
        )
        write_secret(server.password_file, server.admin_password)
        tls_lines = ""
        if settings.tls:
            ca = TestCA.create(folder / "tls", name="idsync slapd test CA")
            cert = ca.issue_server(folder / "tls")
            server.ca_file = ca.cert_file
            tls_lines = (
                f"olcTLSCACertificateFile: {cert.ca_file}\n"
                f"olcTLSCertificateFile: {cert.cert_file}\n"
                f"olcTLSCertificateKeyFile: {cert.key_file}\n"
            )
        config = server._config_ldif(tls_lines)
        run_tool(["slapadd", "-n", "0", "-F", str(folder / "slapd.d")], "slapadd of cn=config", input_text=config)
        server.offline_load(server._base_ldif())
        return server

    def _argv(self) -> list[str]:
        urls = self.url + "/"
        if self.ldaps_url is not None:
            urls += " " + self.ldaps_url + "/"
        return [require_binary("slapd", "slapd"), "-F", str(self.folder / "slapd.d"), "-h", urls, "-d", "0"]

    def _log_path(self) -> Path:
        return self.log_file

    def _ready_url(self) -> str:
        return self.url

    def _start_timeout(self) -> float:
        return self.settings.start_timeout

    # -- data -------------------------------------------------------------------------------------------------

    @property
    def tools(self) -> LdapTools:
        """ldapadd / ldapmodify / ldapdelete / ldapsearch bound as the admin."""
        return LdapTools(self.url, self.admin_dn, self.password_file)

    def load_ldif(self, ldif: str, continue_on_error: bool = False) -> None:
        """Add entries through the running server, so accesslog and syncprov see them."""
        self.tools.add(ldif, continue_on_error)

    def offline_load(self, ldif: str) -> None:
        """Bulk-load with slapadd (fast, but bypasses accesslog). Stops and restarts a running server."""
        was_running = self.running()
        self.stop()
        run_tool(
            ["slapadd", "-q", "-F", str(self.folder / "slapd.d"), "-b", self.base_dn],
            "slapadd of data",
            input_text=ldif,
        )
        if was_running:
            self.start()

    # -- generated configuration ------------------------------------------------------------------------------

    def _base_ldif(self) -> str:
        first = self.base_dn.split(",", 1)[0]
        attr, _, value = first.partition("=")
        if attr.strip().lower() != "dc":
            raise ValueError(f"slapd test base DN {self.base_dn!r}: the first RDN must be dc=...")
        return (
            f"dn: {self.base_dn}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
            f"o: {value}\ndc: {value}\n\n"
            f"dn: {self.admin_dn}\nobjectClass: organizationalRole\ncn: admin\n"
        )

    def _config_ldif(self, tls_lines: str) -> str:
        s = self.settings
        run = self.folder / "run"
        nosync = "TRUE" if s.db_nosync else "FALSE"
        includes = "".join(f"include: file://{SCHEMA_DIR / name}.ldif\n\n" for name in s.schemas)
        rootpw = ssha(self.admin_password)
        admin = self.admin_dn
        return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {run}/slapd.pid
olcArgsFile: {run}/slapd.args
olcLogLevel: none
{tls_lines}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: accesslog
olcModuleLoad: syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: {s.size_limit}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: cn=admin,cn=config
olcRootPW: {rootpw}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {ACCESSLOG_SUFFIX}
olcDbDirectory: {self.folder / "accesslog"}
olcDbNoSync: {nosync}
olcRootDN: {admin}
olcDbMaxSize: {s.max_size}
olcDbIndex: default eq
olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN
olcAccess: {{0}}to * by dn.exact="{admin}" read by * none
olcLimits: {{0}}dn.exact="{admin}" size=unlimited time=unlimited

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpNoPresent: TRUE
olcSpReloadHint: TRUE

dn: olcDatabase={{2}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{2}}mdb
olcSuffix: {self.base_dn}
olcDbDirectory: {self.folder / "data"}
olcDbNoSync: {nosync}
olcRootDN: {admin}
olcRootPW: {rootpw}
olcDbMaxSize: {s.max_size}
olcDbIndex: objectClass eq
olcDbIndex: entryCSN,entryUUID eq
olcDbIndex: uid,cn,mail,member,uniqueMember,manager eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
olcLimits: {{0}}dn.exact="{admin}" size=unlimited time=unlimited

dn: olcOverlay={{0}}syncprov,olcDatabase={{2}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpCheckpoint: 100 10
olcSpSessionLog: {s.session_log}

dn: olcOverlay={{1}}accesslog,olcDatabase={{2}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {{1}}accesslog
olcAccessLogDB: {ACCESSLOG_SUFFIX}
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogPurge: 07+00:00 01+00:00
"""
