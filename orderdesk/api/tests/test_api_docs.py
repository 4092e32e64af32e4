"""The interactive API docs (/api/v1/docs) work offline: Swagger UI comes from our static files."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from playwright.sync_api import Page, Route, expect


class _Links(HTMLParser):
    """Every URL a page loads by itself: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client: Client) -> None:
    response = client.get("/api/v1/docs")
    links = _Links()
    links.feed(response.content.decode())

    assert response.status_code == 200
    assert any(url.endswith("swagger-ui-bundle.js") for url in links.urls), links.urls
    assert any(url.endswith("swagger-ui.css") for url in links.urls), links.urls
    for url in links.urls:
        parts = urlsplit(url)
        # Same origin: no scheme, no host (a CDN would have both).
        assert (parts.scheme, parts.netloc) == ("", ""), url
        assert parts.path.startswith(settings.STATIC_URL), url
        assert finders.find(parts.path.removeprefix(settings.STATIC_URL)), f"{url} is not found"


def test_swagger_ui_renders_the_api_without_any_outside_request(
    live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    outside: list[str] = []

    def refuse(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    # As on an offline machine: anything not served by Orderdesk itself fails, and is noted.
    page.route(lambda url: not url.startswith(live_server.url), refuse)
    # And under the Content-Security-Policy: nothing it needs is refused.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Orderdesk API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.locator(".opblock-summary-path").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert outside == []
    assert refused == []
