from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from orderdesk.organizations.models import User


def test_it_logs_into_the_admin_in_chromium(browser_page: Page, live_server: Any) -> None:
    User.objects.create_superuser("root@example.com", "pw-for-browser")

    browser_page.goto(f"{live_server.url}/admin/login/")
    browser_page.fill("input[name=username]", "root@example.com")
    browser_page.fill("input[name=password]", "pw-for-browser")
    browser_page.click("input[type=submit]")

    browser_page.wait_for_url(f"{live_server.url}/admin/")
    assert "Site administration" in browser_page.content()
