"""The admin's frame (``templates/admin/base_site.html``): each person greeted by name."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def greeting(client) -> str:
    page = client.get(reverse("admin:index")).content.decode()
    match = re.search(r'<div id="user-tools">\s*(.*?)\s*<a ', page, re.S)
    assert match, "no greeting in the header"
    return " ".join(re.sub(r"<[^>]+>", " ", match[1]).split())


def test_the_header_greets_each_person_by_their_full_name(client, researcher, reviewer):
    researcher.first_name, researcher.last_name = "SAMPLE", "Researcher"
    researcher.save()
    reviewer.first_name, reviewer.last_name = "SAMPLE", "Reviewer"
    reviewer.save()

    client.force_login(researcher)
    assert greeting(client) == "Welcome, SAMPLE Researcher ."
    client.force_login(reviewer)
    assert greeting(client) == "Welcome, SAMPLE Reviewer ."


def test_someone_without_a_name_is_greeted_by_their_username(client, researcher):
    client.force_login(researcher)
    assert greeting(client) == "Welcome, researcher ."


def test_a_name_is_escaped(client, researcher):
    researcher.first_name = "<b>Amira</b>"
    researcher.save()
    client.force_login(researcher)
    page = client.get(reverse("admin:index")).content.decode()
    assert "&lt;b&gt;Amira&lt;/b&gt;" in page and "<b>Amira</b>" not in page
