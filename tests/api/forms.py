"""A browser-like client for the dashboard: cookies kept, forms posted with their CSRF token."""

import re

import httpx
from fastapi import FastAPI


def browser(app: FastAPI, address: str, base: str = "http://api") -> httpx.AsyncClient:
    """A cookie-keeping client from ``address`` (each test its own, the limits are per address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base)


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a dashboard page carries in its forms ('' if none)."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


async def login(http: httpx.AsyncClient, staff_id: str, token: str) -> httpx.Response:
    """Log in through the form as a browser does (the form first, then the post)."""
    form = await http.get("/login")
    data = {"staff_id": staff_id, "token": token, "csrf": csrf_of(form)}
    return await http.post("/login", data=data)
