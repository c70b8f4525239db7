"""A private Samba AD domain controller for the tests, restored from a golden snapshot in a fraction of a second.

Provisioning a domain takes seconds, so it happens once per machine and Samba version: the provisioned folder
is kept in a cache ("golden") and each test session gets a copy with its paths rewritten. Every path Samba
writes to is inside that copy; nothing under /etc, /var or /run is touched.

Samba's LDAP ports are fixed (389, 636, 3268, 3269), so one DC runs per host, and it needs root (NT ACLs are
security.* extended attributes). The DC serves LDAP only (``server services = ldap``) with a certificate from a
throw-away CA made for the session, whose names include 127.0.0.1, so clients verify TLS normally.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from idsync.testing.directories.ldaptools import LdapTools
from idsync.testing.directories.process import (
    INSTALL_HINT,
    DirectoryServerUnavailable,
    ManagedServer,
    port_in_use,
    require_binary,
    run_tool,
    write_secret,
)
from idsync.testing.directories.tls import TestCA

RECIPE = "1"
"""Bumped whenever the provisioning below changes, so stale golden copies are not reused."""

LDAP_PORTS = (389, 636, 3268, 3269)


@dataclass(frozen=True, slots=True)
class SambaSettings:
    realm: str = "EXAMPLE.TEST"
    domain: str = "EXAMPLE"
    host_name: str = "dc1"
    backend_store: str = "tdb"
    """``tdb`` (Samba's default) or ``mdb`` (LMDB: range searches on uSNChanged use an ordered index, so DirSync
    and USN deltas do not scan the domain; the benchmarks use it)."""
    start_timeout: float = 90.0
    max_runtime: int = 5400
    """The DC stops by itself after this many seconds, should a test run be killed before it stops it."""


def samba_version() -> str:
    out = run_tool([require_binary("samba", "samba-ad-dc"), "--version"], "samba --version")
    return out.strip().removeprefix("Version ").replace(" ", "_").replace("/", "_")


def cache_root() -> Path:
    """Where golden copies live: $IDSYNC_TEST_CACHE, else $XDG_CACHE_HOME/idsync-test, else the temp dir."""
    explicit = os.environ.get("IDSYNC_TEST_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "idsync-test"
    return Path(tempfile.gettempdir()) / "idsync-test-cache"


@dataclass(frozen=True, slots=True)
class Golden:
    """A provisioned, never-started domain kept in the cache."""

    root: Path
    admin_password: str = field(repr=False)
    provision_seconds: float

    @property
    def folder(self) -> Path:
        return self.root / "dc"


def _check_prerequisites() -> None:
    require_binary("samba", "samba-ad-dc")
    require_binary("samba-tool", "samba")
    require_binary("ldapadd", "ldap-utils")
    if not Path("/usr/share/samba/setup/ad-schema").is_dir():
        raise DirectoryServerUnavailable(
            f"the AD schema files are missing (Debian package samba-ad-provision); {INSTALL_HINT}"
        )
    if os.geteuid() != 0:
        raise DirectoryServerUnavailable("a Samba AD DC needs root (NT ACLs, ports below 1024); run the tests as root")


def golden(settings: SambaSettings) -> Golden:
    """The golden copy for this machine's Samba version, provisioned now if there is none yet."""
    _check_prerequisites()
    base = cache_root()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = "" if settings.backend_store == "tdb" else f"-{settings.backend_store}"
    key = f"samba-{samba_version()}-r{RECIPE}-{settings.realm.lower()}{store}"
    root = base / key
    with (base / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions wait for one provisioning
        if not (root / "golden.json").exists():
            _provision_golden(root, settings)
    meta = json.loads((root / "golden.json").read_text())
    return Golden(
        root=root,
        admin_password=(root / "admin.pw").read_text(),
        provision_seconds=float(meta["provision_seconds"]),
    )


def _provision_golden(root: Path, settings: SambaSettings) -> None:
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    target = building / "dc"
    (target / "run").mkdir(parents=True)
    (target / "log").mkdir()
    # complexity stays on, as in a real domain: the generated part is long, the suffix covers the classes
    password = secrets.token_urlsafe(15) + "aA1!"
    write_secret(building / "admin.pw", password)
    started = time.monotonic()
    run_tool(
        [
            "samba-tool",
            "domain",
            "provision",
            f"--realm={settings.realm}",
            f"--domain={settings.domain}",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--adminpass={password}",
            f"--targetdir={target}",
            "--use-rfc2307",
            f"--host-name={settings.host_name}",
            f"--backend-store={settings.backend_store}",
            "--host-ip=127.0.0.1",
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
            f"--option=pid directory={target}/run",
            f"--option=ncalrpc dir={target}/run/ncalrpc",
            f"--option=winbindd socket directory={target}/run/winbindd",
            f"--option=ntp signd socket directory={target}/run/ntp_signd",
            f"--option=log file={target}/log/log.%m",
        ],
        "samba-tool domain provision",
    )
    conf = target / "etc" / "smb.conf"
    text = conf.read_text()
    # provisioning drops these when given as --option, so they are written afterwards:
    # simple binds on ldap:// are allowed (the tests prove the connector refuses them itself), no fsync, LDAP only
    extra = "\tldap server require strong auth = no\n\tldb:nosync = true\n"
    text = text.replace("[global]\n", "[global]\n" + extra, 1)
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("server services")]
    text = "\n".join(lines).replace("[global]\n", "[global]\n\tserver services = ldap\n", 1) + "\n"
    conf.write_text(text)
    run_tool(
        [
            "samba-tool",
            "domain",
            "passwordsettings",
            "set",
            "--min-pwd-age=0",
            "--max-pwd-age=0",
            "--history-length=0",
            "-H",
            str(target / "private" / "sam.ldb"),
            "-s",
            str(conf),
        ],
        "samba-tool domain passwordsettings",
    )
    meta = {"path": str(target), "provision_seconds": round(time.monotonic() - started, 3), "recipe": RECIPE}
    (building / "golden.json").write_text(json.dumps(meta))
    building.rename(root)


@dataclass
class SambaDC(ManagedServer):
    """A running (or stopped) private Samba AD DC: endpoints, administrator, CA, and start/stop controls."""

    folder: Path
    settings: SambaSettings
    admin_password: str = field(repr=False)
    ca_file: Path
    restore_seconds: float = 0.0
    provision_seconds: float = 0.0

    server_name: ClassVar[str] = "samba"

    @property
    def realm(self) -> str:
        return self.settings.realm

    @property
    def dns_domain(self) -> str:
        return self.settings.realm.lower()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.dns_domain.split("."))

    @property
    def host_name(self) -> str:
        return f"{self.settings.host_name}.{self.dns_domain}"

    @property
    def admin_dn(self) -> str:
        return f"CN=Administrator,CN=Users,{self.base_dn}"

    @property
    def admin_upn(self) -> str:
        return f"Administrator@{self.dns_domain}"

    @property
    def url(self) -> str:
        return "ldap://127.0.0.1:389"

    @property
    def ldaps_url(self) -> str:
        return "ldaps://127.0.0.1:636"

    @property
    def password_file(self) -> Path:
        return self.folder / "admin.pw"

    @property
    def conf_file(self) -> Path:
        return self.folder / "etc" / "smb.conf"

    @property
    def tools(self) -> LdapTools:
        """ldap-utils bound as Administrator over LDAPS, verifying the session CA."""
        return LdapTools(self.ldaps_url, self.admin_dn, self.password_file, self.ca_file)

    @classmethod
    def restore(cls, folder: Path, settings: SambaSettings | None = None) -> SambaDC:
        """A copy of the golden domain in ``folder`` (which must not exist), with a fresh TLS certificate."""
        settings = settings or SambaSettings()
        source = golden(settings)
        started = time.monotonic()
        shutil.copytree(source.folder, folder, symlinks=True)
        old = json.loads((source.root / "golden.json").read_text())["path"]
        conf = folder / "etc" / "smb.conf"
        text = conf.read_text().replace(old, str(folder))
        ca = TestCA.create(folder / "tls", name="idsync Samba test CA")
        cert = ca.issue_server(folder / "tls", host_names=(f"{settings.host_name}.{settings.realm.lower()}",))
        tls = (
            f"\ttls enabled = yes\n\ttls keyfile = {cert.key_file}\n\ttls certfile = {cert.cert_file}\n"
            f"\ttls cafile = {cert.ca_file}\n"
        )
        conf.write_text(text.replace("[global]\n", "[global]\n" + tls, 1))
        dc = cls(folder=folder, settings=settings, admin_password=source.admin_password, ca_file=ca.cert_file)
        write_secret(dc.password_file, source.admin_password)
        dc.restore_seconds = time.monotonic() - started
        dc.provision_seconds = source.provision_seconds
        return dc

    def _before_start(self) -> None:
        busy = [p for p in LDAP_PORTS if port_in_use(p)]
        if busy:
            raise DirectoryServerUnavailable(
                f"Samba's LDAP ports {busy} on 127.0.0.1 are taken by another process; Samba's ports are fixed, "
                "so only one DC can run per host: stop the other directory server first"
            )

    def _argv(self) -> list[str]:
        return [
            require_binary("samba", "samba-ad-dc"),
            "--foreground",
            "--no-process-group",
            "--debug-stdout",
            "-d",
            "1",
            "-M",
            "single",
            f"--maximum-runtime={self.settings.max_runtime}",
            "-s",
            str(self.conf_file),
        ]

    def _log_path(self) -> Path:
        return self.folder / "log" / "samba.out"

    def _ready_url(self) -> str:
        return self.url

    def _start_timeout(self) -> float:
        return self.settings.start_timeout

    def new_invocation_id(self) -> str:
        """Give the stopped DC a new invocationId, as restoring it from a backup does: its USNs then no longer
        continue the ones it handed out before. Returns the new id. Runs Samba's own Python bindings (they are not
        importable from a project virtualenv) on the configuration partition, without Samba's modules."""
        if self.running():
            raise DirectoryServerUnavailable("stop the DC before changing its invocationId")
        partition = next((self.folder / "private" / "sam.ldb.d").glob("CN=CONFIGURATION,*.ldb"))
        server = f"CN={self.settings.host_name.upper()},CN=Servers,CN=Default-First-Site-Name,CN=Sites"
        script = (
            "import sys, uuid, ldb\n"
            "db = ldb.Ldb(sys.argv[1])\n"
            "new = uuid.uuid4()\n"
            "m = ldb.Message(ldb.Dn(db, sys.argv[2]))\n"
            "m['invocationId'] = ldb.MessageElement(new.bytes_le, ldb.FLAG_MOD_REPLACE, 'invocationId')\n"
            "db.modify(m)\n"
            "print(new)\n"
        )
        dn = f"CN=NTDS Settings,{server},CN=Configuration,{self.base_dn}"
        return run_tool(["/usr/bin/python3", "-c", script, str(partition), dn], "set invocationId").strip()

    def samba_tool(self, *args: str) -> str:
        """Run ``samba-tool`` against this DC's database (``-H``/``-s`` added)."""
        return run_tool(
            ["samba-tool", *args, "-H", str(self.folder / "private" / "sam.ldb"), "-s", str(self.conf_file)],
            f"samba-tool {args[0] if args else ''}",
        )


__all__ = ["Golden", "SambaDC", "SambaSettings", "cache_root", "golden", "samba_version"]
