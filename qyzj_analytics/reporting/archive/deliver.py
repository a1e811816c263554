"""Sending the notifications of ``--notify``: one mail and one group-robot message per run.

Standard library only (:mod:`smtplib`, :mod:`ssl`, :mod:`urllib`). A success sends the summary
and the KPIs behind pace, with the Word file and the workbook attached to the mail; a failure
sends 失败, the quarter and why. Each channel is tried a few times with a growing pause
(:data:`RETRY_DELAYS`); what still fails comes back as a warning text. Nothing here raises, and
no password, secret or robot token is ever written into a warning.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from qyzj_analytics.formats import format_score
from qyzj_analytics.reporting.archive.notify import NotifySettings, SmtpSettings, WebhookSettings
from qyzj_analytics.reporting.archive.summary import read_summary

RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)  # pauses between tries: 4 tries in all
TIMEOUT = 20.0  # seconds per connection
MIME = {
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def pause(seconds: float) -> None:
    """Wait between two tries (tests replace it, so they never wait)."""
    time.sleep(seconds)


class DeliveryFailed(Exception):
    """A notification was refused (a robot's non-zero errcode, an SMTP refusal)."""


def _score(value: Any) -> str:
    return format_score(value) if isinstance(value, (int, float)) else "—"


def behind_lines(summary: dict[str, Any]) -> list[str]:
    """The KPIs behind pace: ``名称：完成率 42%`` (aggregates only)."""
    lines = []
    for k in summary.get("kpis", {}).values():
        if k.get("status") == "落后":
            att = k.get("attainment")
            share = f"{att:.0%}" if isinstance(att, (int, float)) else "—"
            lines.append(f"{k.get('name')}：完成率 {share}")
    return lines


def compose(entry: dict[str, Any], out_dir: Path | None) -> tuple[str, list[str], list[Path]]:
    """The subject, the body lines and the attachments of a run's notification."""
    quarter = entry.get("quarter") or "未知季度"
    summary = read_summary(out_dir / quarter) if out_dir and entry.get("exit_code") == 0 else None
    if summary is None:
        why = entry.get("failure") or f"退出码 {entry.get('exit_code')}"
        subject = f"【qyzj】{quarter} 季度报告生成失败"
        lines = [f"{quarter} 季度报告生成失败（退出码 {entry.get('exit_code')}）。", f"原因：{why}"]
        if out_dir is not None:
            lines.append(f"报告文件夹：{out_dir}（上一份成功的报告保持不变）")
        return subject, lines, []
    grade = summary.get("grade_name") or "—"
    subject = f"【qyzj】{summary.get('contract_name', '')} {quarter} 季度报告：{grade}".strip()
    lines = [
        f"{quarter} 季度报告已生成（数据截至 {summary.get('as_of')}）。",
        f"考核档次：{grade}；基础分 {_score(summary.get('base'))}，奖励分 {_score(summary.get('bonus'))}。",
    ]
    behind = behind_lines(summary)
    lines.append(f"进度落后的指标（{len(behind)} 项）：" + ("；".join(behind) if behind else "无"))
    if summary.get("is_sample"):
        lines.append("注意：本报告基于示例数据（虚构），仅用于演示。")
    folder = out_dir / quarter
    lines.append(f"报告：{folder / 'report.html'}")
    attachments = [folder / f"{quarter}_运营情况报告.docx", folder / f"kpi_{quarter}.xlsx"]
    return subject, lines, [p for p in attachments if p.is_file()]


def build_mail(
    settings: SmtpSettings, subject: str, lines: list[str], files: list[Path]
) -> EmailMessage:
    """The mail: plain text body, the files attached."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg.set_content("\n".join([*lines, "", "（本邮件由 qyzj report 自动发送）"]))
    for path in files:
        maintype, subtype = MIME.get(path.suffix, ("application", "octet-stream"))
        msg.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return msg


def _context(cafile: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def send_mail(settings: SmtpSettings, msg: EmailMessage) -> None:
    """Send ``msg`` once.

    Raises:
        OSError, smtplib.SMTPException: not delivered.
    """
    if settings.ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=TIMEOUT, context=_context(settings.cafile)
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
    with client:
        if settings.starttls:
            client.starttls(context=_context(settings.cafile))
        if settings.user:
            client.login(settings.user, settings.password() or "")
        refused = client.send_message(msg)
        if refused:
            raise DeliveryFailed(f"收件人被拒绝: {', '.join(refused)}")


def robot_payload(kind: str, subject: str, lines: list[str]) -> dict[str, Any]:
    """The group-robot markdown message (WeCom: ``content``; DingTalk: ``title`` + ``text``)."""
    text = f"### {subject}\n" + "\n".join(f"> {line}" for line in lines)
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": subject, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def dingtalk_signed(url: str, secret: str, now_ms: int | None = None) -> str:
    """``url`` with DingTalk's 加签 (``timestamp`` in ms, ``sign`` = base64 HMAC-SHA256 of
    ``timestamp + "\\n" + secret`` keyed by the secret, URL-encoded)."""
    stamp = str(now_ms if now_ms is not None else round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def post_robot(settings: WebhookSettings, payload: dict[str, Any]) -> None:
    """POST ``payload`` once; a reply whose ``errcode`` is not 0 is a failure.

    Raises:
        OSError (URLError, HTTPError), DeliveryFailed: not delivered.
    """
    url = settings.url
    secret = settings.secret()
    if settings.kind == "dingtalk" and secret:
        url = dingtalk_signed(url, secret)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    context = _context(settings.cafile) if url.lower().startswith("https") else None
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as reply:
        body = reply.read()
    try:
        answer = json.loads(body.decode("utf-8"))
    except ValueError:
        raise DeliveryFailed("回复不是 JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
        errmsg = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise DeliveryFailed(
            f"机器人返回 errcode {answer.get('errcode') if isinstance(answer, dict) else '?'} {errmsg}"
        )


def _clean(text: str, secrets: Sequence[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def with_retries(
    send: Callable[[], None],
    what: str,
    secrets: Sequence[str | None],
    delays: Sequence[float],
    sleep: Callable[[float], None],
) -> str | None:
    """Call ``send`` until it succeeds, pausing ``delays`` between tries; None or the warning."""
    error: BaseException | None = None
    for attempt in range(len(delays) + 1):
        if attempt:
            sleep(delays[attempt - 1])
        try:
            send()
            return None
        except Exception as exc:
            error = exc
    why = _clean(f"{type(error).__name__}: {error}", secrets)
    return f"{what}未能送达（已尝试 {len(delays) + 1} 次）：{why}"


def _where(url: str) -> str:
    """A robot URL without its token: scheme and host only."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


def send_notifications(
    settings: NotifySettings,
    entry: dict[str, Any],
    out_dir: Path | None,
    *,
    delays: Sequence[float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[str]:
    """Send the run's mail and robot message; returns the warnings of what was not delivered."""
    delays = RETRY_DELAYS if delays is None else delays
    sleep = pause if sleep is None else sleep
    problems: list[str] = []
    try:
        subject, lines, files = compose(entry, out_dir)
    except Exception as exc:  # nothing about a notification may break the run
        return [f"无法生成通知内容: {type(exc).__name__}: {exc}"]
    if settings.smtp is not None:
        smtp = settings.smtp
        msg = build_mail(smtp, subject, lines, files)
        problem = with_retries(
            lambda: send_mail(smtp, msg),
            f"邮件（{smtp.host}:{smtp.port}）",
            [smtp.password()],
            delays,
            sleep,
        )
        problems += [problem] if problem else []
    if settings.webhook is not None:
        hook = settings.webhook
        payload = robot_payload(hook.kind, subject, lines)
        problem = with_retries(
            lambda: post_robot(hook, payload),
            f"群机器人消息（{_where(hook.url)}）",
            [hook.secret(), hook.url, urllib.parse.urlsplit(hook.url).query],
            delays,
            sleep,
        )
        problems += [problem] if problem else []
    return problems
