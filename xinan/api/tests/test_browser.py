"""The API's documentation page, as an integrator opens it."""

import pytest

pytestmark = pytest.mark.browser


def test_the_api_docs_render_from_local_files(page, screenshot, counsellor, login_as):
    login_as(page, counsellor)  # the docs are for staff
    blocked = []
    page.on("requestfailed", lambda r: blocked.append(r.url))
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto("/api/v1/docs")
    page.get_by_text("/api/v1/screening/assessments").first.wait_for()
    assert "心安 xinan API" in page.inner_text("body")
    page.get_by_text("/api/v1/screening/assessments").first.click()
    page.get_by_text("idempotency_key").first.wait_for()
    assert [u for u in blocked if "http" in u and "127.0.0.1" not in u] == []
    screenshot(page, "api-docs")
