"""The Microsoft Graph connector: Entra ID users and groups over Graph."""

from __future__ import annotations
