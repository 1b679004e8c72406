import pytest


@pytest.fixture(autouse=True)
def _inline_imports(settings):
    settings.SCREENING_IMPORT_INLINE = True


@pytest.fixture
def phq9():
    from xinan.screening import services

    return services.instrument("PHQ-9")


@pytest.fixture
def licensed_only(monkeypatch, phq9):
    """A scale whose item text is not installed (as SCL-90 ships), whatever the library has."""
    import dataclasses

    from xinan.screening import services

    locked = dataclasses.replace(
        phq9, code="LOCKED-1", name_zh="受许可限制的量表", text_installed=False
    )
    real_one, real_all = services.instrument, services.instruments
    monkeypatch.setattr(
        services,
        "instrument",
        lambda code, version=None: locked if code == "LOCKED-1" else real_one(code, version),
    )
    monkeypatch.setattr(services, "instruments", lambda: [*real_all(), locked])
    return locked
