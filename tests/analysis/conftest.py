"""Fixtures of the analysis tests: the lattice district (tests/analysis/helpers.py), its users."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

from .helpers import lattice_district


@pytest.fixture
def lattice(db):
    return lattice_district()


@pytest.fixture
def client_for(lattice):
    """An API client logged in as a new user of ``role`` (a community lead: of the west)."""

    def make(role: str, **scope) -> APIClient:
        if role == "community_lead" and not scope:
            scope = {"community": lattice["west"]}
        user = UserFactory(username=f"{role}_{len(scope)}", role=role, **scope)
        client = APIClient()
        client.force_authenticate(user)
        client.user = user
        return client

    return make
