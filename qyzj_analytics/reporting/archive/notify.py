"""``qyzj report --notify FILE``: the notification settings, read and checked before any work.

FILE is a YAML (loaded by :mod:`qyzj_analytics.yamlsafe`) with ``smtp`` and/or ``webhook``::

    smtp: {host: smtp.example.org, port: 465, sender: qyzj@example.org, to: [a@example.org],
           starttls: false, ssl: true, user: qyzj@example.org, password_env: QYZJ_SMTP_PASSWORD,
           cafile: /etc/ssl/my-ca.pem}
    webhook: {url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…", kind: wecom}
    # kind: wecom | dingtalk; a DingTalk robot with 加签 adds secret_env: QYZJ_DINGTALK_SECRET

Passwords and secrets are never in the file: only the name of the environment variable holding
them. Every problem is a Chinese :class:`~qyzj_analytics.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qyzj_analytics.errors import UsageError

SMTP_KEYS = {"host", "port", "sender", "to", "starttls", "ssl", "user", "password_env", "cafile"}
WEBHOOK_KEYS = {"url", "kind", "secret_env", "cafile"}
KINDS = ("wecom", "dingtalk")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the mail goes."""

    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password_env: str | None = None
    cafile: Path | None = None

    def password(self) -> str | None:
        """The password, read from the environment variable named (never from the file)."""
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class WebhookSettings:
    """A WeCom or DingTalk group robot."""

    url: str
    kind: str
    secret_env: str | None = None
    cafile: Path | None = None

    def secret(self) -> str | None:
        """The DingTalk 加签 secret, read from the environment variable named."""
        return os.environ.get(self.secret_env) if self.secret_env else None


@dataclass(frozen=True)
class NotifySettings:
    """What ``--notify`` asks for: a mail, a robot message, or both."""

    source: Path
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None


def _fail(source: Path, message: str) -> UsageError:
    return UsageError(f"通知配置 {source}: {message}")


def _text(
    source: Path, section: dict[str, Any], key: str, where: str, required: bool
) -> str | None:
    value = section.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail(source, f"{where} 缺少 {key}")
        return None
    if not isinstance(value, str):
        raise _fail(source, f"{where}.{key} 应为文本，收到 {value!r}")
    return value.strip()


def _flag(source: Path, section: dict[str, Any], key: str, where: str) -> bool:
    value = section.get(key, False)
    if not isinstance(value, bool):
        raise _fail(source, f"{where}.{key} 应为 true 或 false，收到 {value!r}")
    return value


def _env(source: Path, name: str | None, where: str) -> str | None:
    if name is not None and not os.environ.get(name):
        raise _fail(source, f"{where} 指定的环境变量 {name} 未设置或为空")
    return name


def _cafile(source: Path, section: dict[str, Any], where: str) -> Path | None:
    text = _text(source, section, "cafile", where, required=False)
    if text is None:
        return None
    path = Path(text)
    if not path.is_absolute():
        path = (source.parent / path).resolve()
    if not path.is_file():
        raise _fail(source, f"{where}.cafile 指定的 CA 证书文件不存在: {path}")
    return path


def _section(
    source: Path, data: dict[str, Any], name: str, keys: set[str]
) -> dict[str, Any] | None:
    section = data.get(name)
    if section is None:
        return None
    if not isinstance(section, dict):
        raise _fail(source, f"{name} 应为键值表（如 {name}: {{host: …}}）")
    if "password" in section:
        raise _fail(
            source, f"{name} 不接受 password：请把密码放在环境变量中，并用 password_env 指定变量名"
        )
    unknown = sorted(str(k) for k in section if k not in keys)
    if unknown:
        raise _fail(
            source, f"{name} 中有不认识的项 {'、'.join(unknown)}（可用: {'、'.join(sorted(keys))}）"
        )
    return section


def _address(source: Path, value: Any, where: str) -> str:
    if not isinstance(value, str) or "@" not in value or any(c in value for c in "\r\n<>"):
        raise _fail(source, f"{where} 不是有效的邮箱地址: {value!r}")
    return value.strip()


def parse_smtp(source: Path, section: dict[str, Any]) -> SmtpSettings:
    """The ``smtp`` section, checked."""
    host = _text(source, section, "host", "smtp", required=True) or ""
    use_ssl = _flag(source, section, "ssl", "smtp")
    starttls = _flag(source, section, "starttls", "smtp")
    if use_ssl and starttls:
        raise _fail(
            source, "smtp.ssl 与 smtp.starttls 只能选一个（465 端口用 ssl，587 端口用 starttls）"
        )
    port = section.get("port", 465 if use_ssl else (587 if starttls else 25))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _fail(source, f"smtp.port 应为 1–65535 的整数，收到 {port!r}")
    sender = _address(source, section.get("sender"), "smtp.sender")
    to = section.get("to")
    recipients = [to] if isinstance(to, str) else to
    if not isinstance(recipients, list) or not recipients:
        raise _fail(source, "smtp.to 应为收件人邮箱，或邮箱列表")
    user = _text(source, section, "user", "smtp", required=False)
    password_env = _text(source, section, "password_env", "smtp", required=False)
    if user and not password_env:
        raise _fail(
            source, "smtp 设了 user 却没有 password_env（存放密码的环境变量名；密码不写在文件里）"
        )
    return SmtpSettings(
        host=host,
        port=port,
        sender=sender,
        to=tuple(_address(source, r, "smtp.to") for r in recipients),
        starttls=starttls,
        ssl=use_ssl,
        user=user,
        password_env=_env(source, password_env, "smtp.password_env"),
        cafile=_cafile(source, section, "smtp"),
    )


def parse_webhook(source: Path, section: dict[str, Any]) -> WebhookSettings:
    """The ``webhook`` section, checked."""
    url = _text(source, section, "url", "webhook", required=True) or ""
    if not url.lower().startswith(("https://", "http://")):
        raise _fail(source, "webhook.url 应以 https:// 开头（群机器人的 Webhook 地址）")
    kind = _text(source, section, "kind", "webhook", required=True)
    if kind not in KINDS:
        raise _fail(
            source, f"webhook.kind 应为 wecom（企业微信）或 dingtalk（钉钉），收到 {kind!r}"
        )
    secret_env = _text(source, section, "secret_env", "webhook", required=False)
    if secret_env and kind != "dingtalk":
        raise _fail(source, "webhook.secret_env（加签密钥）只用于钉钉机器人（kind: dingtalk）")
    return WebhookSettings(
        url=url,
        kind=kind,
        secret_env=_env(source, secret_env, "webhook.secret_env"),
        cafile=_cafile(source, section, "webhook"),
    )


def load_notify(path: Path) -> NotifySettings:
    """Read and check ``--notify FILE``.

    Raises:
        UsageError: missing, unreadable or invalid file (exit 2, before any work).
    """
    import yaml

    from qyzj_analytics.yamlsafe import NoAliasLoader, YamlRefused, read_yaml_text

    source = Path(path)
    if not source.is_file():
        raise UsageError(f"通知配置文件不存在: {source}")
    try:
        data = yaml.load(read_yaml_text(source), Loader=NoAliasLoader)
    except (YamlRefused, yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise _fail(source, f"无法读取（{exc}）") from None
    if not isinstance(data, dict):
        raise _fail(source, "应为 YAML 键值表，含 smtp 和/或 webhook")
    unknown = sorted(str(k) for k in data if k not in ("smtp", "webhook"))
    if unknown:
        raise _fail(source, f"有不认识的项 {'、'.join(unknown)}（可用: smtp、webhook）")
    smtp = _section(source, data, "smtp", SMTP_KEYS)
    webhook = _section(source, data, "webhook", WEBHOOK_KEYS)
    if smtp is None and webhook is None:
        raise _fail(source, "没有 smtp 也没有 webhook：至少配置一种通知方式")
    return NotifySettings(
        source=source,
        smtp=parse_smtp(source, smtp) if smtp is not None else None,
        webhook=parse_webhook(source, webhook) if webhook is not None else None,
    )
