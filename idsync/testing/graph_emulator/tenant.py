"""``GraphTenant``: one emulated Entra tenant and the programmatic API tests use to shape it - verified domains,
app registrations with client secrets, seeded users and groups, objects marked as synchronized from on-premises,
directory extensions, and the throttling, fault and delta knobs - plus the ways to reach it over HTTP."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from idsync.testing.graph_emulator import schema
from idsync.testing.graph_emulator.assertions import Certificate
from idsync.testing.graph_emulator.auth import AppRegistration, Authority
from idsync.testing.graph_emulator.clock import Clock
from idsync.testing.graph_emulator.delta import DeltaSettings, DeltaTracker
from idsync.testing.graph_emulator.directory import Directory
from idsync.testing.graph_emulator.faults import FaultConfig, FaultInjector
from idsync.testing.graph_emulator.service import GraphService
from idsync.testing.graph_emulator.throttling import ThrottleConfig, ThrottleModel
from idsync.testing.graph_emulator.validation import ExtensionSpec

if TYPE_CHECKING:
    import httpx

    from idsync.testing.graph_emulator.app import EmulatorApp

DEFAULT_PASSWORD_PROFILE = {"forceChangePasswordNextSignIn": True, "password": "Emulated-Passw0rd!"}
STATE_FORMAT = "idsync-graph-emulator-tenant"
STATE_VERSION = 1


class GraphTenant:
    """An emulated tenant. Thread-safe: HTTP requests and API calls share ``lock``."""

    def __init__(
        self,
        name: str = "contoso",
        *,
        domains: tuple[str, ...] | None = None,
        tenant_id: str | None = None,
        seed: int = 0,
        throttling: ThrottleConfig | None = None,
        faults: FaultConfig | None = None,
        delta: DeltaSettings | None = None,
    ) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.tenant_id = tenant_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.domains: list[str] = list(domains or (f"{name}.onmicrosoft.com",))
        # Domains whose sign-in is federated (AD FS and the like); the others are managed (cloud authentication).
        self.federated_domains: set[str] = set()
        self.lock = threading.RLock()
        self.clock = Clock()
        self.authority = Authority(self.clock, self.tenant_id)
        self.directory = Directory(
            clock=self.clock,
            rng=self.rng,
            verified_domains=lambda: tuple(self.domains),
            federated=self.federated,
            extension=self.extension,
        )
        self.delta = DeltaTracker(self.directory, self.clock, delta)
        self.throttle = ThrottleModel(self.clock, self.tenant_id, throttling)
        self.faults = FaultInjector(faults or FaultConfig(seed=seed))
        self.service = GraphService(self)

    # ---- tenant and apps ----------------------------------------------------------------------------------------

    def add_domain(self, domain: str, *, federated: bool = False) -> None:
        """Verify ``domain`` in the tenant; ``federated`` makes its users sign in through a federation service,
        so a user created in it needs an onPremisesImmutableId ("Create User")."""
        with self.lock:
            if domain.lower() not in (d.lower() for d in self.domains):
                self.domains.append(domain)
            if federated:
                self.federated_domains.add(domain.lower())

    def federated(self, domain: str) -> bool:
        return domain.lower() in self.federated_domains

    def authentication_type(self, domain: str) -> str:
        """How a domain's users sign in, as ``/domains`` and ``/organization`` spell it."""
        return "Federated" if self.federated(domain) else "Managed"

    def knows_tenant(self, key: str) -> bool:
        return key.lower() in {self.tenant_id, *(d.lower() for d in self.domains)}

    def add_app(
        self, display_name: str = "idsync", *, client_id: str | None = None, client_secret: str | None = None
    ) -> AppRegistration:
        """Register an application; id and secret are generated unless given."""
        with self.lock:
            return self.authority.add_app(display_name, client_id, client_secret, self.directory.new_id())

    def add_certificate(self, app: AppRegistration, pem: str) -> str:
        """Register a certificate (PEM, public part) on ``app`` for certificate credentials; returns its SHA-256
        thumbprint."""
        from idsync.testing.graph_emulator.assertions import load_certificate

        certificate = load_certificate(pem)
        with self.lock:
            app.certificates.append(certificate)
        return certificate.sha256

    def register_extension(
        self,
        app: AppRegistration,
        name: str,
        *,
        data_type: str = "String",
        target_objects: tuple[str, ...] = ("User",),
        multi_valued: bool = False,
    ) -> str:
        """Register a directory extension on ``app``; returns its property name ``extension_{appId}_{name}``."""
        if data_type not in schema.EXTENSION_DATA_TYPES:
            raise ValueError(f"extension {name!r}: dataType {data_type!r} is not one of {schema.EXTENSION_DATA_TYPES}")
        targets = tuple(t.capitalize() for t in target_objects)
        if not targets or any(t not in ("User", "Group") for t in targets):
            raise ValueError(f"extension {name!r}: targetObjects must be User and/or Group, not {target_objects!r}")
        with self.lock:
            full = app.extension_name(name)
            app.extensions[full] = ExtensionSpec(
                id=self.directory.new_id(),
                name=full,
                data_type=data_type,
                target_objects=targets,
                multi_valued=multi_valued,
                app_display_name=app.display_name,
            )
            return full

    def extension(self, name: str) -> ExtensionSpec | None:
        for app in self.authority.apps.values():
            spec = app.extensions.get(name)
            if spec is not None:
                return spec
        return None

    # ---- seeding ----------------------------------------------------------------------------------------------------

    def add_user(self, user_principal_name: str, **props: Any) -> str:
        """Create a user as ``POST /users`` would (same validation), filling the required properties a test does not
        care about. Returns the new id."""
        alias = user_principal_name.split("@", 1)[0]
        body: dict[str, Any] = {
            "userPrincipalName": user_principal_name,
            "accountEnabled": True,
            "displayName": alias,
            "mailNickname": "".join(ch for ch in alias if ch.isalnum() or ch in "-_.") or "user",
            "passwordProfile": dict(DEFAULT_PASSWORD_PROFILE),
            **props,
        }
        with self.lock:
            return self.directory.create("user", body).id

    def add_group(self, display_name: str, *, unified: bool = False, **props: Any) -> str:
        """A security group, or a Microsoft 365 group with ``unified=True``. Returns the new id."""
        nickname = "".join(ch for ch in display_name if ch.isalnum()) or "group"
        body: dict[str, Any] = {
            "displayName": display_name,
            "mailNickname": nickname,
            "mailEnabled": unified,
            "securityEnabled": not unified,
            "groupTypes": ["Unified"] if unified else [],
            **props,
        }
        with self.lock:
            return self.directory.create("group", body).id

    def add_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            self.directory.add_member(group_id, member_id, trusted=True)

    def remove_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            self.directory.remove_member(group_id, member_id, trusted=True)

    def set_manager(self, user_id: str, manager_id: str) -> None:
        with self.lock:
            self.directory.set_manager(user_id, manager_id, trusted=True)

    def update(self, object_id: str, **props: Any) -> None:
        """Change properties as an administrator would, bypassing the on-premises lock (not read-only checks)."""
        with self.lock:
            obj = self.directory.get(None, object_id)
            self.directory.update(obj.kind, obj.id, props, trusted=True)

    def delete(self, object_id: str) -> None:
        with self.lock:
            obj = self.directory.get(None, object_id)
            self.directory.delete(obj.kind, obj.id, trusted=True)

    def mark_synced(
        self,
        object_id: str,
        *,
        immutable_id: str | None = None,
        sam_account_name: str | None = None,
        domain_name: str = "corp.example",
        **on_premises: Any,
    ) -> None:
        """Make an object look synchronized from on-premises AD (onPremisesSyncEnabled true): from then on Graph
        refuses writes to its on-premises-mastered attributes."""
        with self.lock:
            obj = self.directory.get(None, object_id)
            values: dict[str, Any] = {
                "onPremisesSyncEnabled": True,
                "onPremisesLastSyncDateTime": self.clock.iso_now(),
                "onPremisesDomainName": domain_name,
                **on_premises,
            }
            if sam_account_name is not None:
                values["onPremisesSamAccountName"] = sam_account_name
            if obj.kind == "user" and immutable_id is not None:
                values["onPremisesImmutableId"] = immutable_id
            self.directory.set_trusted(obj.id, values)

    def set_proxy_addresses(self, object_id: str, addresses: list[str]) -> None:
        """proxyAddresses are read-only in Graph; tests set them here."""
        with self.lock:
            self.directory.set_trusted(object_id, {"proxyAddresses": list(addresses)})

    def seed_users(self, count: int, *, prefix: str = "user", department: str | None = None) -> list[str]:
        domain = self.domains[0]
        ids = []
        for i in range(count):
            extra = {"department": department} if department else {}
            ids.append(self.add_user(f"{prefix}{i:05d}@{domain}", displayName=f"{prefix.title()} {i:05d}", **extra))
        return ids

    # ---- reading state ----------------------------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any]:
        """A live object's stored properties (all of them, not only Graph's default set)."""
        with self.lock:
            return dict(self.directory.get(None, key).props)

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.live("user")]

    def groups(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.live("group")]

    def members(self, group_id: str) -> list[str]:
        with self.lock:
            return list(self.directory.get("group", group_id).members)

    def manager_of(self, user_id: str) -> str | None:
        with self.lock:
            return self.directory.get("user", user_id).manager

    def deleted_items(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.props) for o in self.directory.deleted_items()]

    def find_users(self, **equals: Any) -> list[dict[str, Any]]:
        """Users whose properties equal the given values (strings compared case-insensitively)."""

        def same(a: Any, b: Any) -> bool:
            return a.lower() == b.lower() if isinstance(a, str) and isinstance(b, str) else bool(a == b)

        with self.lock:
            return [
                dict(o.props)
                for o in self.directory.live("user")
                if all(same(o.props.get(k), v) for k, v in equals.items())
            ]

    # ---- knobs ------------------------------------------------------------------------------------------------------

    def configure_throttling(self, **settings: Any) -> None:
        with self.lock:
            self.throttle.configure(**settings)

    def configure_faults(self, **settings: Any) -> None:
        with self.lock:
            self.faults.configure(**settings)

    def expire_delta_tokens(self) -> None:
        with self.lock:
            self.delta.expire_tokens()

    def force_resync(self) -> None:
        with self.lock:
            self.delta.force_resync()

    def stats(self) -> Mapping[str, Any]:
        with self.lock:
            t, f = self.throttle.stats, self.faults.stats
            return {
                "requests": t.requests,
                "writes": t.writes,
                "resource_units": t.resource_units,
                "throttled": t.throttled,
                "throttled_by_scope": dict(t.throttled_by_scope),
                "injected_errors": f.errors,
                "dropped": f.drops,
            }

    # ---- keeping it ------------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tenant to a JSON file (atomically: a crash leaves the old file or the new one), so a demo
        tenant outlives the process. Kept: objects, links, soft-deleted items, apps and their extensions, the
        throttling, fault and delta settings, the clock's offset, and for each delta query its newest deltaLink
        younger than the tokens' lifetime, with the change log it reads. Not kept: older deltaLinks and nextLinks
        (they answer ``syncStateNotFound`` after a load, as expired ones do), client secrets (each load gives
        every app a new one), access tokens, list paging and throttling windows."""
        with self.lock:
            data = self._state()
        target = Path(path)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                _write_json(handle, data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)

    @property
    def revision(self) -> tuple[int, ...]:
        """Moves whenever what :meth:`save` writes changes (objects, links, delta tokens, apps, extensions)."""
        with self.lock:
            apps = self.authority.apps.values()
            extensions = sum(len(a.extensions) + len(a.certificates) for a in apps)
            return (self.directory.current_seq, self.delta.issued, len(apps), extensions)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GraphTenant:
        """A tenant written by :meth:`save`. Raises ``ValueError`` naming the file when it is not one."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError("it is not an emulated Graph tenant written by idsync")
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"format version {data.get('version')!r}; this idsync reads {STATE_VERSION}")
            return cls._restored(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}: cannot load the emulated tenant: {exc}") from None

    def _state(self) -> dict[str, Any]:
        wall, mono = time.time(), self.clock.monotonic()
        delta, oldest = self.delta.to_state(lambda m: wall - (mono - m))
        version, internal, gauss = self.rng.getstate()
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "saved": self.clock.iso_now(),
            "name": self.name,
            "tenant_id": self.tenant_id,
            "domains": self.domains,
            "federated_domains": sorted(self.federated_domains),
            "clock_offset": self.clock.offset,
            "rng": [version, list(internal), gauss],
            "throttling": dataclasses.asdict(self.throttle.config),
            "faults": dataclasses.asdict(self.faults.config),
            "delta_settings": dataclasses.asdict(self.delta.settings),
            "apps": [_app_state(app) for app in self.authority.apps.values()],
            "delta": delta,
            "directory": self.directory.to_state(oldest),
        }

    @classmethod
    def _restored(cls, data: dict[str, Any]) -> GraphTenant:
        faults = dict(data["faults"])
        faults["error_statuses"] = tuple(faults["error_statuses"])
        low, high = faults["latency_seconds"]
        faults["latency_seconds"] = (float(low), float(high))
        tenant = cls(
            str(data["name"]),
            domains=tuple(data["domains"]),
            tenant_id=str(data["tenant_id"]),
            throttling=ThrottleConfig(**data["throttling"]),
            faults=FaultConfig(**faults),
            delta=DeltaSettings(**data["delta_settings"]),
        )
        tenant.federated_domains = {str(d).lower() for d in data.get("federated_domains") or ()}
        version, internal, gauss = data["rng"]
        tenant.rng.setstate((version, tuple(internal), gauss))
        tenant.clock.advance(float(data["clock_offset"]))
        for app in data["apps"]:
            registered = tenant.authority.add_app(
                str(app["display_name"]), str(app["client_id"]), None, str(app["object_id"])
            )
            for spec in app["extensions"]:
                extension = ExtensionSpec(**{**spec, "target_objects": tuple(spec["target_objects"])})
                registered.extensions[extension.name] = extension
            for cert in app["certificates"]:
                registered.certificates.append(
                    Certificate(str(cert["sha1"]), str(cert["sha256"]), str(cert["public_pem"]).encode("ascii"))
                )
        tenant.directory.load_state(data["directory"])
        wall, mono = time.time(), tenant.clock.monotonic()
        tenant.delta.load_state(data["delta"], lambda w: mono - (wall - w))
        return tenant

    # ---- reaching it ------------------------------------------------------------------------------------------

    def asgi_app(self) -> EmulatorApp:
        from idsync.testing.graph_emulator.app import create_app

        return create_app(self)

    def transport(self) -> httpx.BaseTransport:
        """A synchronous in-process httpx transport (no sockets): ``httpx.Client(transport=tenant.transport(),
        base_url="https://graph.local")``."""
        from idsync.testing.graph_emulator.app import SyncTransport

        return SyncTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An asynchronous in-process transport running the real ASGI app."""
        from idsync.testing.graph_emulator.app import AsyncTransport

        return AsyncTransport(self)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run the tenant under uvicorn on a loopback port (a free one by default); yields the base URL."""
        from idsync.testing.graph_emulator.server import serve

        with serve(self, host=host, port=port) as base_url:
            yield base_url


def _app_state(app: AppRegistration) -> dict[str, Any]:
    """An app registration without its client secret."""
    return {
        "display_name": app.display_name,
        "client_id": app.client_id,
        "object_id": app.object_id,
        "extensions": [dataclasses.asdict(spec) for spec in app.extensions.values()],
        "certificates": [
            {"sha1": c.sha1, "sha256": c.sha256, "public_pem": c.public_pem.decode("ascii")} for c in app.certificates
        ],
    }


def _write_json(handle: TextIO, data: Mapping[str, Any]) -> None:
    """Compact JSON with one directory object and one change per line: quick to write, and a person can still
    read it (or grep it)."""
    directory = data["directory"]
    handle.write("{\n")
    for key, value in data.items():
        if key != "directory":
            handle.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    handle.write('"directory": {\n')
    for key in ("seq", "object_seq"):
        handle.write(f"{json.dumps(key)}: {json.dumps(directory[key])},\n")
    for key in ("objects", "changes"):
        rows = ",\n".join(json.dumps(row, ensure_ascii=False) for row in directory[key])
        handle.write(f"{json.dumps(key)}: [\n{rows}\n]{',' if key == 'objects' else ''}\n")
    handle.write("}\n}\n")
