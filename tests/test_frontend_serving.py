"""The built pages, served by the app at ``/`` (``sleeplog.web.frontend``)."""

import json
import re
from pathlib import Path

import pytest

from sleeplog.web.frontend import PAGES, STATIC_ROOT

ROUTER = Path(__file__).resolve().parent.parent / "frontend/src/router.ts"
INDEX = (STATIC_ROOT / "index.html").read_text(encoding="utf-8")
ASSET_LINKS = re.findall(r'(?:src|href)="(/assets/[^"]+)"', INDEX)


def test_the_build_is_in_the_package():
    # One script and one style sheet, each named by its content's hash.
    names = sorted(
        (link.rsplit(".", 1)[1], link.rsplit("/", 1)[1]) for link in ASSET_LINKS
    )

    assert len(names) == 2
    assert re.fullmatch(r"index-[\w-]{8}\.css", names[0][1])
    assert re.fullmatch(r"index-[\w-]{8}\.js", names[1][1])
    assert all((STATIC_ROOT / link.lstrip("/")).is_file() for link in ASSET_LINKS)


def test_index_is_served_at_the_root_with_its_policy(anonymous):
    response = anonymous.get("/")

    assert response.status == "200 OK"
    assert response.content_type == "text/html"
    assert response.text == INDEX
    assert response.headers["Cache-Control"] == "no-cache"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/login", "/register", "/records", "/records/redis", "/log", "/violators"]
    + ["/users", "/account"],
)
def test_every_page_of_the_app_answers_its_index(anonymous, path):
    response = anonymous.get(path)

    assert response.status == "200 OK"
    assert response.text == INDEX


def test_the_page_list_matches_the_router():
    paths = set(re.findall(r'path: "(/[a-z]+)', ROUTER.read_text())) - {"/"}
    served = {page.split("/<")[0] for page in PAGES}

    assert paths == served


def test_assets_are_cached_for_good(anonymous):
    script = next(link for link in ASSET_LINKS if link.endswith(".js"))

    response = anonymous.get(script)

    assert response.status == "200 OK"
    assert response.content_type in ("text/javascript", "application/javascript")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.body == (STATIC_ROOT / script.lstrip("/")).read_bytes()


def test_pages_need_no_login_and_leave_an_audit_entry(anonymous, audit_log):
    anonymous.get("/login")

    with open(audit_log.path, encoding="utf-8") as file:
        entries = json.load(file)
    assert [(e["path"], e["status"], e["user"]) for e in entries] == [
        ("/login", 200, None)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing-00000000.js",
        "/assets/../index.html",
        "/nowhere",
        "/api/nowhere",
    ],
)
def test_unknown_paths_are_json_errors(anonymous, path):
    response = anonymous.get(path, status="*")

    assert response.status_int in (403, 404)
    assert response.content_type == "application/json"
    assert set(response.json["error"]) == {"status", "message", "details", "request_id"}


def test_an_unknown_api_path_stays_a_json_404(anonymous):
    response = anonymous.get("/api/records/nothing/here", status=404)

    assert response.json["error"]["message"] == (
        "There is nothing at /api/records/nothing/here."
    )
