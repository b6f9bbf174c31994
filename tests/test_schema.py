"""The OpenAPI schema: generated without warnings (so every endpoint is described) and served."""

import pytest
from django.core.management import call_command


def test_the_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/geocode", "/api/v1/layers/{name}", "/api/v1/grids/{code}"):
        assert path in text


@pytest.mark.django_db
def test_the_schema_is_served(client):
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    assert b"openapi" in response.content
