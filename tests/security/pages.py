"""Posting an admin change page as a browser would, and reading the answer.

``save_page`` GETs the page, reads what its form would post (``page_data``), lets the
test change that, and POSTs it; ``add_row`` and ``row_of`` find their way in an
inline's rows. The lock and visibility tests drive the admin's pages this way.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from html.parser import HTMLParser

from django.urls import reverse

PLEASE_CORRECT = "Please correct the error"


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def assert_form_error(response, message: str) -> None:
    """The form came back (200) saying what to correct, with the lock's reason."""
    assert response.status_code == 200
    text = page_text(response)
    assert PLEASE_CORRECT in text
    assert message in text


class _FormValues(HTMLParser):
    """The name/value pairs a browser posts from the form with id ``form_id``."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name") or ""
        if "__prefix__" in name:
            return  # the template rows that "Add another" copies
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((name, a.get("value") or "on"))
                return
            self.pairs.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
            self._multiple = "multiple" in a
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.pairs.append((self._select, value))
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._select_chosen and not self._multiple and self._select_first is not None:
                self.pairs.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.pairs.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data) -> None:
        if self._textarea:
            self._text.append(data)


def page_data(response) -> dict[str, list[str]]:
    """What saving the admin change form on ``response`` unchanged would post."""
    assert response.status_code == 200
    form_id = f"{response.context['opts'].model_name}_form"
    parser = _FormValues(form_id)
    parser.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    assert data, f"no form {form_id!r} on the page"
    return data


def save_page(client, url: str, change: Callable[[dict], None] = lambda data: None):
    """GET the change page at ``url``, let ``change`` alter what it would post, POST it."""
    data = page_data(client.get(url))
    change(data)
    data["_save"] = ["Save"]
    return client.post(url, data)


def add_row(data: dict, prefix: str, **fields) -> None:
    """One more row in the inline formset ``prefix``."""
    n = int(data[f"{prefix}-TOTAL_FORMS"][0])
    data[f"{prefix}-TOTAL_FORMS"] = [str(n + 1)]
    for name, value in fields.items():
        data[f"{prefix}-{n}-{name}"] = [str(value)]


def row_of(data: dict, prefix: str, pk: int) -> str:
    """The field-name prefix of the row of object ``pk`` in the inline formset ``prefix``."""
    for key, values in data.items():
        if key.startswith(f"{prefix}-") and key.endswith("-id") and values == [str(pk)]:
            return key.removesuffix("id")
    raise AssertionError(f"no row of {pk} in {prefix}")


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def delete_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[record.pk])
