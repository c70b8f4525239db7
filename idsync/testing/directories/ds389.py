"""A private 389 Directory Server for the tests, with the retro changelog on, on loopback.

Debian's ``389-ds-base`` creates instances with ``dscreate``, which takes every path from a ``defaults.inf``; run
with ``PREFIX`` set, it reads that file from ``$PREFIX/share/dirsrv/inf``. A copy whose system paths (``/etc``,
``/var``, ``/run``) point into the caller's folder, and a copy of the package's configuration templates there,
give an instance that lives entirely in that folder: nothing is written under /etc/dirsrv or /var/lib/dirsrv and
no systemd unit is involved. The instance is configured offline (dse.ldif) before its first start: it listens on
127.0.0.1 only and the Retro Changelog plugin records each entry's nsUniqueId as ``targetUniqueId``.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from idsync.testing.directories.ldaptools import LdapTools
from idsync.testing.directories.process import (
    DirectoryServerUnavailable,
    ManagedServer,
    free_port,
    require_binary,
    run_tool,
    write_secret,
)

SYSTEM_DEFAULTS = Path("/usr/share/dirsrv/inf/defaults.inf")
SYSTEM_TEMPLATES = Path("/etc/dirsrv")
INSTANCE = "idsync"


@dataclass
class DS389Server(ManagedServer):
    folder: Path
    port: int
    base_dn: str = "dc=example,dc=org"
    admin_password: str = field(default="", repr=False)

    server_name: ClassVar[str] = "389-ds"
    admin_dn: ClassVar[str] = "cn=Directory Manager"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def config_dir(self) -> Path:
        return self.folder / "etc" / "dirsrv" / f"slapd-{INSTANCE}"

    @property
    def password_file(self) -> Path:
        return self.folder / "admin.pw"

    @property
    def tools(self) -> LdapTools:
        return LdapTools(self.url, self.admin_dn, self.password_file)

    @classmethod
    def create(cls, folder: Path, base_dn: str = "dc=example,dc=org") -> DS389Server:
        """Create the instance in ``folder`` (not started)."""
        dscreate = require_binary("dscreate", "389-ds-base")
        require_binary("ns-slapd", "389-ds-base")
        if not SYSTEM_DEFAULTS.exists() or not (SYSTEM_TEMPLATES / "config").is_dir():
            raise DirectoryServerUnavailable(f"389-ds-base is incomplete: {SYSTEM_DEFAULTS} or its templates missing")
        folder.mkdir(parents=True, exist_ok=True)
        server = cls(folder=folder, port=free_port(), base_dn=base_dn, admin_password=secrets.token_urlsafe(18))
        write_secret(server.password_file, server.admin_password)
        inf = folder / "share" / "dirsrv" / "inf"
        inf.mkdir(parents=True, exist_ok=True)
        (inf / "defaults.inf").write_text(server._defaults(SYSTEM_DEFAULTS.read_text()), encoding="utf-8")
        templates = folder / "etc" / "dirsrv"
        templates.mkdir(parents=True, exist_ok=True)
        for name in ("config", "schema"):
            shutil.copytree(SYSTEM_TEMPLATES / name, templates / name, dirs_exist_ok=True)
        answers = folder / "instance.inf"
        write_secret(answers, server._answers())
        env = {**os.environ, "PREFIX": str(folder)}
        run_tool([dscreate, "from-file", str(answers)], "dscreate", env=env)
        answers.unlink()
        server._configure_offline()
        return server

    def _defaults(self, text: str) -> str:
        """The package's defaults with every instance path moved into our folder, and no systemd."""
        root = str(self.folder)
        text = re.sub(r"= /(etc|var|run)\b", lambda m: f"= {root}/{m.group(1)}", text)
        text = re.sub(r"^with_systemd = .*$", "with_systemd = 0", text, flags=re.M)
        text = re.sub(r"^prefix = .*$", f"prefix = {root}", text, flags=re.M)
        text = re.sub(r"^tmpfiles_d = .*$", "tmpfiles_d = " + str(self.folder / "tmpfiles.d"), text, flags=re.M)
        text = re.sub(r"^db_home_dir = .*$", f"db_home_dir = {root}/dbhome", text, flags=re.M)
        text = re.sub(r"^user = .*$", f"user = {pwd.getpwuid(os.getuid()).pw_name}", text, flags=re.M)
        return re.sub(r"^group = .*$", f"group = {grp.getgrgid(os.getgid()).gr_name}", text, flags=re.M)

    def _answers(self) -> str:
        return (
            "[general]\nconfig_version = 2\nfull_machine_name = localhost\nselinux = False\nsystemd = False\n"
            "start = False\nstrict_host_checking = False\n"
            f"[slapd]\ninstance_name = {INSTANCE}\nport = {self.port}\nsecure_port = {free_port()}\n"
            f"self_sign_cert = False\nroot_password = {self.admin_password}\n"
            f"[backend-userroot]\nsuffix = {self.base_dn}\ncreate_suffix_entry = True\nsample_entries = no\n"
        )

    def _configure_offline(self) -> None:
        """Loopback only; the retro changelog on, recording nsUniqueId, as a delta reader needs it."""
        dse = self.config_dir / "dse.ldif"
        text = dse.read_text(encoding="utf-8")
        text = text.replace("dn: cn=config\n", "dn: cn=config\nnsslapd-listenhost: 127.0.0.1\n", 1)
        plugin = "dn: cn=Retro Changelog Plugin,cn=plugins,cn=config\n"
        start = text.find(plugin)
        if start < 0:
            raise DirectoryServerUnavailable("389-ds: the instance has no Retro Changelog plugin entry")
        end = text.find("\n\n", start)
        entry = text[start:end].replace("nsslapd-pluginEnabled: off", "nsslapd-pluginEnabled: on")
        entry += "\nnsslapd-attribute: nsuniqueid:targetUniqueId"
        dse.write_text(text[:start] + entry + text[end:], encoding="utf-8")

    def _argv(self) -> list[str]:
        pid_file = self.folder / "run" / "dirsrv" / f"slapd-{INSTANCE}.pid"
        return [require_binary("ns-slapd", "389-ds-base"), "-D", str(self.config_dir), "-i", str(pid_file), "-d", "0"]

    def _log_path(self) -> Path:
        return self.folder / "ns-slapd.out"

    def _ready_url(self) -> str:
        return self.url

    def _start_timeout(self) -> float:
        return 60.0
