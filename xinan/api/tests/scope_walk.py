"""api's part of the walk-every-URL test (xinan/testing/scope_walk.py): each role's bearer token
submits for the other district's resident by ID number (the schema itself is walked by
schemathesis, xinan/api/tests/test_schema_fuzz.py)."""

from xinan.testing.scope_walk import Api, Page, World


def _submission(w: World) -> dict:
    return {"instrument": "PHQ-9", "id_number": w.person.id_number, "answers": "1,1,1,1,1,1,1,1,1"}


URLS = {
    "api:openapi-json": Page(),
    "api:openapi-view": Page(),
    "api:api-root": Page(),
    "api:submit": Api(_submission),
}
