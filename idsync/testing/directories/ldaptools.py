"""The ldap-utils command-line tools pointed at one test server: loading LDIF and clearing subtrees.

The tests' own data goes in through the server's protocol (so accesslog, syncprov and DirSync see it) with
the reference client, not through the code under test. The bind password is read from a 0600 file (``-y``),
never passed on a command line.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from idsync.testing.directories.process import DirectoryServerUnavailable, require_binary, run_tool

TREE_DELETE_OID = "1.2.840.113556.1.4.805"
UNAVAILABLE_CRITICAL_EXTENSION = 12


@dataclass(frozen=True, slots=True)
class LdapTools:
    url: str
    bind_dn: str
    password_file: Path
    ca_file: Path | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.ca_file is not None:
            env["LDAPTLS_CACERT"] = str(self.ca_file)
            env["LDAPTLS_REQCERT"] = "demand"
        return env

    def _args(self, tool: str) -> list[str]:
        require_binary(tool, "ldap-utils")
        return [tool, "-x", "-H", self.url, "-D", self.bind_dn, "-y", str(self.password_file)]

    def add(self, ldif: str, continue_on_error: bool = False) -> None:
        """Add the entries of ``ldif`` through the server."""
        extra = ["-c"] if continue_on_error else []
        run_tool([*self._args("ldapadd"), *extra], "ldapadd", input_text=ldif, env=self._env())

    def modify(self, ldif: str) -> None:
        """Apply an LDIF of changetype records (modify, modrdn, delete)."""
        run_tool(self._args("ldapmodify"), "ldapmodify", input_text=ldif, env=self._env())

    def delete_subtree(self, dn: str) -> None:
        """Delete ``dn`` and everything below it; a missing entry is not an error.

        Active Directory deletes a whole subtree in one operation with the tree-delete control (a few ms per
        entry); ``ldapdelete -r``, which other servers need, walks it entry by entry, ten times slower there."""
        tree = [*self._args("ldapdelete"), "-e", f"!{TREE_DELETE_OID}", dn]
        done = subprocess.run(tree, capture_output=True, text=True, env=self._env(), check=False)
        if done.returncode == UNAVAILABLE_CRITICAL_EXTENSION:
            walk = [*self._args("ldapdelete"), "-r", dn]
            done = subprocess.run(walk, capture_output=True, text=True, env=self._env(), check=False)
        if done.returncode not in (0, 32):  # 32 = noSuchObject
            raise DirectoryServerUnavailable(f"ldapdelete -r {dn} failed: {done.stderr.strip()}")

    def delete_referral(self, dn: str) -> None:
        """Delete a referral object (with ManageDsaIT: without it the server answers with the referral instead)."""
        run_tool([*self._args("ldapdelete"), "-M", dn], "ldapdelete -M", env=self._env())

    def reset_ou(self, dn: str) -> str:
        """An empty organizational unit at ``dn`` (emptied if it exists); returns ``dn``."""
        self.delete_subtree(dn)
        rdn = dn.split(",", 1)[0]
        attr, _, value = rdn.partition("=")
        if attr.strip().lower() != "ou":
            raise ValueError(f"reset_ou({dn!r}): the first RDN must be ou=...")
        self.add(f"dn: {dn}\nobjectClass: organizationalUnit\nou: {value}\n")
        return dn

    def search(self, base: str, filter_text: str = "(objectClass=*)", *attributes: str, scope: str = "sub") -> str:
        """LDIF text of a search, as ldapsearch prints it with -LLL (for checks made independently of idsync)."""
        return run_tool(
            [
                *self._args("ldapsearch"),
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-s",
                scope,
                "-b",
                base,
                filter_text,
                *attributes,
            ],
            "ldapsearch",
            env=self._env(),
        )
