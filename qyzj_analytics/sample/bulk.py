"""The cleaning benchmark's large services export (a million rows in a few seconds)."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.ingest.parse import CODE_CHARS
from qyzj_analytics.sample.exports import SERVICE_HEADER, excel_serial
from qyzj_analytics.sample.identities import (
    draw_credit_codes,
    draw_enterprise_names,
    draw_people,
)
from qyzj_analytics.sample.records import SERVICE_REMARKS, SERVICE_TYPES


def _take(values: Any, idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as an arrow array (a column of a generated export)."""
    return pc.take(pa.array(values), pa.array(idx))


def _place_duplicates(
    rng: np.random.Generator, rows: int, n_dup: int, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``rows`` rows, the unique row it shows, and which rows are duplicates.

    ``n_dup`` rows (never the first) repeat a nearby earlier row, at most ``window`` unique
    rows back (re-exported or entered twice); the others show the unique rows in order.
    """
    is_dup = np.zeros(rows, dtype=bool)
    if n_dup:
        is_dup[rng.choice(np.arange(1, rows), size=n_dup, replace=False)] = True
    src = np.empty(rows, dtype=np.int64)
    src[~is_dup] = np.arange(rows - n_dup)
    base = np.cumsum(~is_dup) - 1
    src[is_dup] = np.maximum(base[is_dup] - rng.integers(0, window, size=n_dup), 0)
    return src, is_dup


def _service_columns(
    names: np.ndarray,
    codes: np.ndarray,
    above: np.ndarray,
    ent: np.ndarray,
    kind: np.ndarray,
    date_dict: pa.Array,
    date_idx: np.ndarray,
) -> dict[str, pa.Array]:
    """The six columns every services export has (序号 … 是否规上), one value per row."""
    return {
        "序号": pa.array(np.arange(1, len(ent) + 1)),
        "企业名称": _take(names.tolist(), ent),
        "统一社会信用代码": _take(codes.tolist(), ent),
        "服务日期": pc.take(date_dict, pa.array(date_idx)),
        "服务类型": _take(list(SERVICE_TYPES), kind),
        "是否规上": _take(above.tolist(), ent),
    }


def write_services_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A large services export (UTF-8 with BOM) for the cleaning benchmark.

    A title row, the header, ``rows`` data rows (mixed date formats, about 1 % exact duplicate
    rows, a few unreadable dates, codes and names from a pool) and a 合计 row with every comma.
    A million rows take a few seconds: every column is built with numpy and pyarrow.
    """
    rng = np.random.default_rng(seed)
    n_ent = int(min(20_000, max(50, rows // 40)))
    codes = draw_credit_codes(rng, n_ent)
    names = draw_enterprise_names(rng, n_ent, codes)
    people, phones, ids = draw_people(rng, n_ent)
    above = np.where(rng.random(n_ent) < 0.25, "是", "否")

    contract = load_contract()  # the services fall in its period
    start, end = contract.period_start, contract.period_end
    days = np.array([start + dt.timedelta(days=i) for i in range((end - start).days + 1)])
    formats: list[list[str]] = []
    for day in days:
        formats.append(
            [
                day.isoformat(),
                f"{day.year}/{day.month}/{day.day}",
                f"{day.year}年{day.month}月{day.day}日",
                f"{day.isoformat()} 09:30",
                str(excel_serial(day)),
            ]
        )
    n_fmt = len(formats[0])
    unreadable = ["待定", "3月5日", f"{start.year}-02-30"]
    date_dict = pa.array([f for row in formats for f in row] + unreadable)
    fmt_p = np.array([0.35, 0.35, 0.1, 0.1, 0.1])

    n_dup = rows // 100
    n_unique = rows - n_dup
    space = n_ent * len(days) * len(SERVICE_TYPES)
    keys = rng.choice(space, size=min(n_unique, space), replace=False)
    if len(keys) < n_unique:  # tiny pools: allow repeats
        keys = np.concatenate([keys, rng.integers(0, space, size=n_unique - len(keys))])
    ent, rest = np.divmod(keys, len(days) * len(SERVICE_TYPES))
    day, kind = np.divmod(rest, len(SERVICE_TYPES))
    order = np.argsort(day, kind="stable")  # exports list services by date
    ent, day, kind = ent[order], day[order], kind[order]
    src, is_dup = _place_duplicates(rng, rows, n_dup, window=30)
    ent, day, kind = ent[src], day[src], kind[src]
    date_idx = day * n_fmt + rng.choice(n_fmt, size=rows, p=fmt_p)
    bad_rows = rng.choice(
        np.flatnonzero(~is_dup), size=min(rows, 3 + rows // 200_000), replace=False
    )
    date_idx[bad_rows] = len(formats) * n_fmt + np.arange(len(bad_rows)) % len(unreadable)
    remarks = pa.array(list(SERVICE_REMARKS))

    table = pa.table(
        {
            **_service_columns(names, codes, above, ent, kind, date_dict, date_idx),
            "联系人": _take(people.tolist(), ent),
            "联系电话": _take(phones.tolist(), ent),
            "身份证号": _take(ids.tolist(), ent),
            "备注": pc.take(remarks, pa.array(rng.integers(0, len(remarks), size=rows))),
        }
    )
    width = len(SERVICE_HEADER)
    head = (
        f"乐清市企业之家企业服务记录（{start.year}年全量导出）"
        + "," * (width - 1)
        + "\n"
        + ",".join(SERVICE_HEADER)
        + "\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(codecs.BOM_UTF8 + head.encode("utf-8"))
        pacsv.write_csv(
            table,
            fh,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
        )
        fh.write(("合计," + f"{rows}家次" + "," * (width - 2) + "\n").encode("utf-8"))


PLAIN_HEADER = ("序号", "企业名称", "统一社会信用代码", "服务日期", "服务类型", "是否规上")


def write_plain_services_csv(
    path: Path,
    rows: int,
    seed: int = 0,
    firms: int = 5_000,
    bad_code_share: float = 0.01,
    duplicate_share: float = 0.065,
) -> None:
    """A plain services export (UTF-8, no BOM, no title or total row), like the platform's own.

    Six columns (:data:`PLAIN_HEADER`); ``firms`` enterprises, of which ``bad_code_share`` have
    a credit code failing its check digit (1.0: every code, as a platform that masks codes);
    dates 90 % ``2025/01/20`` and 10 % ``2025年1月20日``; ``duplicate_share`` of the rows repeat
    an earlier row's enterprise, day and service type (with its own 序号 and date format).
    A million rows (≈ 87 MB) take a few seconds.
    """
    rng = np.random.default_rng(seed)
    codes = draw_credit_codes(rng, firms)
    names = draw_enterprise_names(rng, firms, codes)
    above = np.where(rng.random(firms) < 0.25, "是", "否")
    n_bad = round(firms * bad_code_share)
    if n_bad:
        codes = _spoil_check_digits(codes, rng.choice(firms, size=n_bad, replace=False))

    contract = load_contract()
    start = contract.period_start
    n_days = (contract.period_end - start).days + 1
    days = [start + dt.timedelta(days=i) for i in range(n_days)]
    date_dict = pa.array(
        [f"{d.year}/{d.month:02d}/{d.day:02d}" for d in days]
        + [f"{d.year}年{d.month}月{d.day}日" for d in days]
    )

    n_dup = round(rows * duplicate_share)
    n_unique = rows - n_dup
    space = firms * n_days * len(SERVICE_TYPES)
    keys = rng.choice(space, size=min(n_unique, space), replace=False)
    if len(keys) < n_unique:  # tiny pools: allow repeats
        keys = np.concatenate([keys, rng.integers(0, space, size=n_unique - len(keys))])
    keys = np.sort(keys)  # by enterprise, then day: shuffled into date order below
    ent, rest = np.divmod(keys, n_days * len(SERVICE_TYPES))
    day, kind = np.divmod(rest, len(SERVICE_TYPES))
    order = np.argsort(day, kind="stable")
    ent, day, kind = ent[order], day[order], kind[order]
    src, _ = _place_duplicates(rng, rows, n_dup, window=200)
    ent, day, kind = ent[src], day[src], kind[src]
    date_idx = day + np.where(rng.random(rows) < 0.1, n_days, 0)

    table = pa.table(_service_columns(names, codes, above, ent, kind, date_dict, date_idx))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write((",".join(PLAIN_HEADER) + "\n").encode("utf-8"))
        pacsv.write_csv(
            table,
            fh,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
        )


def _spoil_check_digits(codes: np.ndarray, which: np.ndarray) -> np.ndarray:
    """``codes`` with the check character of those at ``which`` replaced by a wrong one."""
    out = codes.astype(object)
    for i in which:  # (a few thousand codes at most)
        code = out[i]
        right = CODE_CHARS.index(code[17])
        out[i] = code[:17] + CODE_CHARS[(right + 1 + i % 30) % len(CODE_CHARS)]
    return out.astype(codes.dtype)
