"""``qyzj report --notify``: a mail and a group-robot message after success and after failure.

A tiny loopback SMTP server (socketserver) and a loopback HTTP server (http.server) record what
arrives; nothing leaves this machine.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

from qyzj_analytics.errors import UsageError
from qyzj_analytics.reporting.archive import deliver
from qyzj_analytics.reporting.archive.notify import load_notify

PASSWORD = "pw-7f3a-never-logged"
SECRET = "SECdingtalk-secret-0042"


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        server = self.server
        if getattr(server, "tls", None) is not None:
            self.connection = server.tls.wrap_socket(self.request, server_side=True)
            self.rfile = self.connection.makefile("rb")
            self.wfile = self.connection.makefile("wb", buffering=0)
        self._say("220 loopback ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode().strip()
            upper = verb.upper()
            if upper.startswith(("EHLO", "HELO")):
                self._say("250-loopback\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif upper.startswith("AUTH PLAIN"):
                server.auth.append(base64.b64decode(verb.split()[2]).split(b"\0")[2].decode())
                self._say("235 ok")
            elif upper.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                self._say("250 ok")
            elif upper == "DATA":
                self._say("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                server.mails.append(
                    email.message_from_bytes(data[:-5], policy=email.policy.default)
                )
                self._say("250 queued")
            elif upper == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 no")

    def _say(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails: list = []
        self.auth: list[str] = []
        self.tls = tls


class _RobotHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body)))
        reply = json.dumps({"errcode": self.server.errcode, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp() -> Iterator[_SmtpServer]:
    yield from _serve(_SmtpServer())


@pytest.fixture
def robot() -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RobotHandler)
    server.posts = []
    server.errcode = 0
    yield from _serve(server)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No real pauses between tries; the pauses asked for are recorded."""
    pauses: list[float] = []
    monkeypatch.setattr(deliver, "RETRY_DELAYS", (0.5, 1.0))
    monkeypatch.setattr(deliver, "pause", pauses.append)
    monkeypatch.setenv("QYZJ_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("QYZJ_DINGTALK_SECRET", SECRET)
    return pauses


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, smtp_port: int, robot_port: int, kind: str = "wecom") -> Path:
    secret = "\n  secret_env: QYZJ_DINGTALK_SECRET" if kind == "dingtalk" else ""
    path = tmp_path / "notify.yaml"
    path.write_text(
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  sender: qyzj@example.org\n"
        "  to: [a@example.org, b@example.org]\n  user: qyzj@example.org\n"
        "  password_env: QYZJ_SMTP_PASSWORD\n"
        f"webhook:\n  url: http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key=TOKEN123\n"
        f"  kind: {kind}{secret}\n",
        encoding="utf-8",
    )
    return path


def _run(tmp_path: Path, raw: Path, config: Path) -> tuple[int, str]:
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(tmp_path / "reports")]
    return report_main(
        [*argv, "--draws", "300", "--notebooks", str(notebooks), "--notify", str(config)]
    )


# ------------------------------------------------------------------------------------------------
# Whole runs


@pytest.mark.slow
def test_success_sends_one_mail_with_the_word_file_and_one_robot_message(
    tmp_path: Path, smtp: _SmtpServer, robot
) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    config = _config(tmp_path, smtp.server_address[1], robot.server_address[1])
    code, err = _run(tmp_path, raw, config)
    assert code == 0, err
    assert len(smtp.mails) == 1 and len(robot.posts) == 1
    mail = smtp.mails[0]
    grade = json.loads((tmp_path / "reports" / QUARTER / "summary.json").read_text())["grade_name"]
    assert QUARTER in mail["Subject"] and grade in mail["Subject"] and "失败" not in mail["Subject"]
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [f"{QUARTER}_运营情况报告.docx", f"kpi_{QUARTER}.xlsx"]
    body = mail.get_body(("plain",)).get_content()
    assert "进度落后的指标" in body and "基础分" in body
    assert smtp.auth == [PASSWORD]  # the password comes from the environment variable
    path, message = robot.posts[0]
    assert "key=TOKEN123" in path
    assert message["msgtype"] == "markdown" and QUARTER in message["markdown"]["content"]
    log = (tmp_path / "reports" / "runs.jsonl").read_text(encoding="utf-8")
    assert PASSWORD not in log + err and "notify_failures" not in log


@pytest.mark.slow
def test_unreachable_servers_change_nothing_but_a_warning(tmp_path: Path, quick_retries) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    config = _config(tmp_path, _free_port(), _free_port())
    code, err = _run(tmp_path, raw, config)
    assert code == 0, err
    assert (tmp_path / "reports" / QUARTER / "report.html").is_file()
    assert "警告: 邮件" in err and "警告: 群机器人消息" in err and "已尝试 3 次" in err
    assert quick_retries == [0.5, 1.0, 0.5, 1.0]  # backoff between the tries of each channel
    entry = json.loads((tmp_path / "reports" / "runs.jsonl").read_text().splitlines()[-1])
    assert entry["exit_code"] == 0 and len(entry["notify_failures"]) == 2
    for text in (err, json.dumps(entry, ensure_ascii=False)):
        assert PASSWORD not in text and "TOKEN123" not in text


def test_an_empty_raw_folder_sends_one_failure_of_each(
    tmp_path: Path, smtp: _SmtpServer, robot
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    config = _config(tmp_path, smtp.server_address[1], robot.server_address[1], "dingtalk")
    code, err = _run(tmp_path, empty, config)
    assert code == 3, err
    assert len(smtp.mails) == 1 and len(robot.posts) == 1
    mail = smtp.mails[0]
    assert "失败" in mail["Subject"] and QUARTER in mail["Subject"]
    assert "没有任何可识别的导出" in mail.get_body(("plain",)).get_content()
    assert not list(mail.iter_attachments())
    path, message = robot.posts[0]
    assert message["msgtype"] == "markdown"
    assert "失败" in message["markdown"]["title"] and QUARTER in message["markdown"]["text"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    stamp, sign = query["timestamp"][0], query["sign"][0]
    digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()  # DingTalk 加签
    entry = json.loads((tmp_path / "reports" / "runs.jsonl").read_text().splitlines()[-1])
    assert entry["exit_code"] == 3 and "没有任何可识别的导出" in entry["failure"]


def test_a_robot_errcode_is_a_failure(tmp_path: Path, smtp: _SmtpServer, robot) -> None:
    robot.errcode = 93000
    empty = tmp_path / "empty"
    empty.mkdir()
    config = _config(tmp_path, smtp.server_address[1], robot.server_address[1])
    code, err = _run(tmp_path, empty, config)
    assert code == 3
    assert len(robot.posts) == 3  # retried
    assert "errcode 93000" in err and len(smtp.mails) == 1


def test_bad_arguments_and_a_held_lock_notify_nobody(
    tmp_path: Path, smtp: _SmtpServer, robot
) -> None:
    from qyzj_analytics.reporting.report.lock import lock_quarter

    raw = write_tiny_raw(tmp_path / "raw")
    config = _config(tmp_path, smtp.server_address[1], robot.server_address[1])
    argv = ["--quarter", "2024Q1", "--raw", str(raw), "--out", str(tmp_path / "reports")]
    code, _ = report_main([*argv, "--notify", str(config)])
    assert code == 2
    out = tmp_path / "reports"
    out.mkdir()
    with lock_quarter(out, QUARTER):
        code, err = _run(tmp_path, raw, config)
    assert code == 5, err
    assert smtp.mails == [] and robot.posts == []
    entry = json.loads((out / "runs.jsonl").read_text().splitlines()[-1])
    assert entry["exit_code"] == 5


# ------------------------------------------------------------------------------------------------
# the settings file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "键值表"),
        ("mail: {}\n", "不认识的项 mail"),
        ("{}\n", "至少配置一种"),
        ("smtp: {host: h, sender: a@b, to: [x@y], password: p}\n", "password_env"),
        ("smtp: {host: h, sender: a@b, to: [x@y], user: u}\n", "password_env"),
        ("smtp: {host: h, sender: a@b, to: [x@y], port: 99999}\n", "smtp.port"),
        ("smtp: {host: h, sender: nobody, to: [x@y]}\n", "smtp.sender"),
        ("smtp: {host: h, sender: a@b, to: []}\n", "smtp.to"),
        ("smtp: {host: h, sender: a@b, to: x@y, ssl: true, starttls: true}\n", "只能选一个"),
        ("smtp: {host: h, sender: a@b, to: x@y, ssl: 'yes'}\n", "true 或 false"),
        ("smtp: {host: h, sender: a@b, to: x@y, cafile: nope.pem}\n", "CA 证书文件不存在"),
        ("smtp: {host: h, sender: a@b, to: x@y, password_env: QYZJ_UNSET_VAR}\n", "未设置"),
        ("webhook: {url: 'ftp://x', kind: wecom}\n", "https://"),
        ("webhook: {url: 'https://x', kind: slack}\n", "wecom（企业微信）或 dingtalk"),
        ("webhook: {url: 'https://x', kind: wecom, secret_env: QYZJ_DINGTALK_SECRET}\n", "钉钉"),
        ("a: &x 1\nb: *x\n", "别名"),
    ],
)
def test_bad_settings_are_refused_in_chinese(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_notify(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_bad_settings_exit_2_before_any_work(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    path = tmp_path / "notify.yaml"
    path.write_text("webhook: {url: 'https://x', kind: slack}\n", encoding="utf-8")
    out = tmp_path / "reports"
    code, err = report_main(
        ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--notify", str(path)]
    )
    assert code == 2 and "webhook.kind" in err
    assert not out.exists()
    code, err = report_main(
        ["--quarter", QUARTER, "--raw", str(raw), "--notify", str(tmp_path / "no.yaml")]
    )
    assert code == 2 and "通知配置文件不存在" in err


# ------------------------------------------------------------------------------------------------
# TLS with a test certificate


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_ssl_mail_with_a_self_signed_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for server in _serve(_SmtpServer(tls=context)):
        path = tmp_path / "notify.yaml"
        path.write_text(
            f"smtp: {{host: 127.0.0.1, port: {server.server_address[1]}, ssl: true, "
            f"sender: a@example.org, to: b@example.org, cafile: {cert.name}}}\n",
            encoding="utf-8",
        )
        settings = load_notify(path)
        entry = {"quarter": QUARTER, "exit_code": 4, "failure": "notebook 02 失败"}
        assert deliver.send_notifications(settings, entry, None) == []
        assert "失败" in server.mails[0]["Subject"]
        untrusted = load_notify(path).smtp.__class__(**{**vars(settings.smtp), "cafile": None})
        problems = deliver.send_notifications(
            settings.__class__(source=path, smtp=untrusted), entry, None
        )
        assert len(problems) == 1 and "CERTIFICATE_VERIFY_FAILED" in problems[0]
