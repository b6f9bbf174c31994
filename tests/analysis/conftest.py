"""Fixtures of the analysis tests: the lattice district (tests/analysis/helpers.py), its users,
English messages, and a chromium of the module's own."""

import pytest
from django.utils import translation

from tests.factories import UserFactory

from .helpers import english_client, lattice_district


@pytest.fixture(autouse=True)
def english():
    """Commands and services speak English here (the API clients ask for it too)."""
    with translation.override("en"):
        yield


@pytest.fixture
def lattice(db):
    return lattice_district()


@pytest.fixture
def client_for(lattice):
    """An API client logged in as a new user of ``role`` (a community lead: of the west)."""

    def make(role: str, **scope):
        if role == "community_lead" and not scope:
            scope = {"community": lattice["west"]}
        user = UserFactory(username=f"{role}_{len(scope)}", role=role, **scope)
        client = english_client()
        client.force_authenticate(user)
        client.user = user
        return client

    return make
