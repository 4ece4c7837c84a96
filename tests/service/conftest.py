"""The ``service`` fixture: one running service for the package (see service_support)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from service_support import Service, running_service, service_settings

from underfoot_lab import logs


@pytest.fixture(scope="package")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    buf = io.StringIO()
    logs.configure(json=True, stream=buf)
    settings = service_settings(tmp_path_factory.mktemp("service-home"))
    try:
        with running_service(settings) as base:
            yield Service(base, settings, buf)
    finally:
        logs.configure(enabled=False)
