"""The app factory: health and readiness probes, and the JSON error shape of every failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from connector.settings import Settings
from connector.store import head_revision, make_engine
from mappings import MappingError
from webhooks import create_app
from webhooks.state import MAX_CONTENT_LENGTH, app_state

SECRET = "whsec-app-test-5e1d9c0a7b"


def make_app(engine: Engine, db_url: str = "sqlite://", **overrides: Any) -> Flask:
    values: dict[str, Any] = {"database_url": db_url, "cms_webhook_secret": SECRET}
    values.update(overrides)
    return create_app(Settings(**values), engine)


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def test_healthz_answers_ok_even_without_a_store(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing-dir/matterline.db")
    response = make_app(engine).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_given_migrated_store_then_ready_with_its_revision(engine: Engine, db_url: str) -> None:
    response = make_app(engine, db_url).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "revision": head_revision()}
    assert head_revision() is not None


def test_given_unmigrated_store_then_503_telling_to_run_init(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        response = make_app(engine, db_url).test_client().get("/readyz")
    finally:
        engine.dispose()
    error = error_of(response, 503, "not_ready")
    assert "matterline init" in error["message"]
    assert error["details"] == {"reason": "migrations_pending", "revision": None, "head": head_revision()}


def test_given_unreachable_store_then_503_without_leaking_the_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no-such-directory/matterline.db"
    engine = make_engine(url)
    response = make_app(engine, url).test_client().get("/readyz")
    error = error_of(response, 503, "not_ready")
    assert error["details"] == {"reason": "store_unreachable"}
    assert "no-such-directory" not in response.get_data(as_text=True)


def test_given_unknown_path_then_404_json(sqlite_engine: Engine) -> None:
    response = make_app(sqlite_engine).test_client().get("/nowhere")
    error_of(response, 404, "not_found")


def test_given_wrong_method_then_405_json_with_allow(sqlite_engine: Engine) -> None:
    response = make_app(sqlite_engine).test_client().post("/healthz")
    error = error_of(response, 405, "method_not_allowed")
    assert "GET" in error["details"]["allowed"]
    assert "GET" in response.headers["Allow"]


def test_given_body_over_one_mebibyte_then_413_json(sqlite_engine: Engine) -> None:
    client = make_app(sqlite_engine).test_client()
    too_big = b"{" + b" " * MAX_CONTENT_LENGTH + b"}"
    response = client.post(
        "/webhooks/cms/clio", data=too_big, headers={"X-Hook-Signature": "0" * 64, "Content-Type": "application/json"}
    )
    error = error_of(response, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1024 * 1024}


def test_given_body_of_exactly_one_mebibyte_then_not_refused_for_size(sqlite_engine: Engine) -> None:
    client = make_app(sqlite_engine).test_client()
    body = b"{" + b" " * (MAX_CONTENT_LENGTH - 2) + b"}"
    response = client.post("/webhooks/cms/clio", data=body, headers={"X-Hook-Signature": "0" * 64})
    error_of(response, 403, "signature_invalid")


def test_given_unexpected_exception_then_500_json_without_traceback_or_secret(sqlite_engine: Engine) -> None:
    app = make_app(sqlite_engine)

    def explode() -> str:
        raise RuntimeError(f"boom with {SECRET} in postgresql://user:hunter2@db/matterline")

    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")

    error = error_of(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    for leak in (SECRET, "hunter2", "Traceback", "RuntimeError"):
        assert leak not in text
    assert error["details"] is None


def test_state_holds_given_settings_and_engine(sqlite_engine: Engine) -> None:
    settings = Settings(database_url="sqlite://", cms_webhook_secret=SECRET)
    app = create_app(settings, sqlite_engine)
    state = app_state(app)
    assert state.settings is settings
    assert state.engine is sqlite_engine
    assert state.mapping.id == "clio"


def test_given_no_engine_then_opened_from_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/matterline.db"
    app = create_app(Settings(database_url=url))
    engine = app_state(app).engine
    try:
        assert engine.url.database == f"{tmp_path}/matterline.db"
    finally:
        engine.dispose()


def test_given_no_settings_then_read_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MATTERLINE_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("MATTERLINE_CMS_WEBHOOK_SECRET", SECRET)
    app = create_app()
    state = app_state(app)
    try:
        assert state.settings.cms_webhook_secret == SECRET
        assert state.engine.url.database == f"{tmp_path}/env.db"
    finally:
        state.engine.dispose()


def test_given_broken_firm_override_then_app_refuses_to_start(sqlite_engine: Engine, tmp_path: Path) -> None:
    override = tmp_path / "override.json"
    override.write_text(json.dumps({"webhooks": {"signature": {"header": "X-Hook-Signature", "algorithm": "md5"}}}))
    with pytest.raises(MappingError):
        create_app(Settings(database_url="sqlite://", mapping_file=str(override)), sqlite_engine)


def test_a_form_opened_before_a_secret_key_rotation_posts_only_while_the_previous_key_is_set(
    sqlite_engine: Engine,
) -> None:
    """Sign-in sessions are random tokens kept in the store; the key signs the CSRF token of each open form."""
    from connector import crypto, services
    from connector.staff.users import Actor

    password = "correct horse battery"
    services.users.add(
        sqlite_engine, name="Pat", email="pat@firm.example", role="staff", actor=Actor("cli:test"), password=password
    )
    old, new = "the old secret key, long enough", "the new secret key, long enough"
    before = make_app(sqlite_engine, secret_key=old).test_client()
    form = before.get("/signin").get_data(as_text=True)
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookie = before.get_cookie("session")
    assert cookie is not None

    def post(**keys: Any) -> int:
        client = make_app(sqlite_engine, **keys).test_client()
        client.set_cookie("session", cookie.value)
        fields = {"csrf_token": token, "email": "pat@firm.example", "password": password}
        return int(client.post("/signin", data=fields).status_code)

    try:
        assert post(secret_key=new) == 400  # the form's token was signed with the old key
        assert post(secret_key=new, previous_secret_key=old) == 302  # signed in
    finally:
        crypto.accept_previous(None)
