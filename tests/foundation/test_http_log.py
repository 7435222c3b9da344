"""`make run` logs one line per request: the path without WeChat's signature parameters, the
status, and the error code of a refusal."""

from __future__ import annotations

import logging
import threading

import requests
from chalice import Chalice, Response
from chalice.cli.factory import CLIFactory

from infra.local import api_server
from infra.local.http_log import loggable_path
from infra.local.stack import ROOT, free_port

app = Chalice(app_name="http-log-test")


@app.route("/wechat/callback", methods=["POST"], content_types=["text/xml"])
def callback() -> Response:
    return Response(body="success", headers={"Content-Type": "text/plain"})


@app.route("/slots", methods=["GET"])
def slots() -> Response:
    return Response(body={"error": "slot_in_past", "message": "that day has passed"}, status_code=422)


def test_request_lines_leave_out_signatures_and_name_the_error_code(caplog):
    caplog.set_level(logging.INFO, logger="http")
    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="dev")
    port = free_port()
    server = api_server.create(app, config, "127.0.0.1", port)
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    try:
        query = (
            "signature="
            + "a" * 40
            + "&timestamp=1&nonce=2&openid=o-1&encrypt_type=aes&msg_signature="
            + "b" * 40
        )
        requests.post(
            f"http://127.0.0.1:{port}/wechat/callback?{query}",
            data=b"<xml/>",
            headers={"Content-Type": "text/xml"},
            timeout=5,
        )
        requests.get(f"http://127.0.0.1:{port}/slots?area=a", timeout=5)
    finally:
        server.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name == "http"]
    assert lines[0].startswith("POST /wechat/callback?openid=o-1&encrypt_type=aes 200 ")
    assert lines[1].startswith("GET /slots?area=a 422 slot_in_past ")
    assert all(line.endswith(" ms") for line in lines)


def test_a_path_keeps_every_other_parameter():
    assert loggable_path("/auth/wechat?code=openid%3Ao-1") == "/auth/wechat?code=openid%3Ao-1"
    assert loggable_path("/wechat/callback?signature=x&timestamp=1&nonce=2&echostr=hi") == "/wechat/callback"
