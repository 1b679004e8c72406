import importlib.util

import pytest

if importlib.util.find_spec("xinan.instruments.engine") is None:  # pragma: no cover
    from xinan.screening.tests import fake_instruments

    fake_instruments.install()


@pytest.fixture(autouse=True)
def _inline_imports(settings):
    settings.SCREENING_IMPORT_INLINE = True
