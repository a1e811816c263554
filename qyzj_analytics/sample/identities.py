"""Made-up identities: credit codes, people (names, mobiles, ID numbers) and enterprise names.

Everything is drawn from the caller's ``numpy.random.Generator`` and vectorised (the benchmark
draws tens of thousands at once). No value belongs to a real person or enterprise.
"""

from __future__ import annotations

import numpy as np

from qyzj_analytics.ingest.parse import CODE_CHARS, CODE_WEIGHTS

# --- name pools (surnames and given-name characters never occur in enterprise names) ----------
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董潘袁蔡蒋余叶程苏吕魏卢施倪洪缪"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英玲燕慧婷晨宇浩佳欣晓鹏斌辉峰琳雪丹亮俊倩颖蕾睿彬"
)
BRAND = "鑫恒瑞宏达誉邦创博盛凯弘力源隆泰丰德益晟诚威顺迈奥瀚旭"
_ENTERPRISE_PREFIX = ("乐清市", "浙江", "温州", "乐清")
_INDUSTRY = (
    "电气",
    "电器",
    "开关",
    "仪表",
    "电子",
    "机械",
    "模具",
    "五金",
    "汽车配件",
    "线缆",
    "阀门",
    "塑业",
    "智能科技",
    "新能源",
    "物联网科技",
    "包装",
    "服饰",
    "食品",
    "精密制造",
    "自动化设备",
    "光电",
    "继电器",
    "互感器",
    "连接器",
)
TOWNS = (
    "柳市",
    "北白象",
    "虹桥",
    "乐成",
    "城东",
    "城南",
    "翁垟",
    "白石",
    "清江",
    "芙蓉",
    "大荆",
    "雁荡",
    "淡溪",
    "石帆",
    "天成",
    "盐盆",
    "南岳",
    "磐石",
    "湖雾",
    "仙溪",
    "南塘",
    "岭底",
    "智仁",
    "龙西",
)
PARKS = (
    "柳市电气小微企业园",
    "北白象小微园",
    "虹桥智能装备小微园",
    "翁垟小微企业园",
    "清江小微园",
    "城东数字经济小微园",
    "天成小微园",
    "白石小微企业园",
)

# --- GB 32100-2015 (credit code), GB 11714 (organisation code), GB 11643 (ID number) ---------
_ORG_WEIGHTS = np.array((3, 7, 9, 10, 5, 8, 4, 2))
_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))
_ID_CHECK = "10X98765432"
_REGION = "330382"  # 乐清市
_PHONE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + [f"18{d}" for d in range(10)]
)


def _chars_to_strings(chars: np.ndarray) -> np.ndarray:
    """Rows of single characters (``(n, k)`` of ``<U1``) as an ``(n,)`` array of strings."""
    n, k = chars.shape
    return np.ascontiguousarray(chars.astype("<U1")).view(f"<U{k}").reshape(n)


def draw_credit_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid 18-character unified social credit codes registered in 乐清市.

    91 (company) or 92 (individual business), region 330382, an organisation code (8 digits, or
    ``MA`` and 6 code characters, plus its GB 11714 check character) and the check character.

    >>> from qyzj_analytics.ingest.parse import credit_codes_valid
    >>> codes = draw_credit_codes(np.random.default_rng(0), 100)
    >>> bool(credit_codes_valid(codes.tolist()).all()), len(set(codes))
    (True, 100)
    """
    chars = np.array(list(CODE_CHARS))
    org_value = np.array([int(c, 36) for c in CODE_CHARS])  # GB 11714: A=10 … Z=35
    out = np.empty(0, dtype="<U18")
    while len(out) < n:
        m = n - len(out) + 16
        idx = np.empty((m, 17), dtype=np.int64)
        idx[:, 0] = 9
        idx[:, 1] = np.where(rng.random(m) < 0.88, 1, 2)
        idx[:, 2:8] = [CODE_CHARS.index(c) for c in _REGION]
        new_style = rng.random(m) < 0.6
        body = rng.integers(0, 10, size=(m, 8))
        body[:, 0] = rng.integers(1, 8, size=m)
        ma = np.column_stack(
            [
                np.full(m, CODE_CHARS.index("M")),
                np.full(m, CODE_CHARS.index("A")),
                rng.integers(0, 10, size=m),
                rng.integers(0, len(CODE_CHARS), size=(m, 5)),
            ]
        )
        body = np.where(new_style[:, None], ma, body)
        org = 11 - (org_value[body] * _ORG_WEIGHTS).sum(axis=1) % 11
        org_check = np.where(org == 10, CODE_CHARS.index("X"), np.where(org == 11, 0, org))
        idx[:, 8:16] = body
        idx[:, 16] = org_check
        check = (31 - (idx * CODE_WEIGHTS).sum(axis=1) % 31) % 31
        codes = _chars_to_strings(chars[np.column_stack([idx, check])])
        out = np.concatenate([out, codes])
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return out[:n]


def draw_people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` made-up people: distinct 3-character names, 11-digit mobiles and 18-digit IDs."""
    g = len(_GIVEN)
    pick = rng.choice(len(_SURNAMES) * g * g, size=n, replace=False)
    s, rest = np.divmod(pick, g * g)
    g1, g2 = np.divmod(rest, g)
    surnames, given = np.array(list(_SURNAMES)), np.array(list(_GIVEN))
    names = _chars_to_strings(np.column_stack([surnames[s], given[g1], given[g2]]))
    prefixes = np.array(_PHONE_PREFIXES)[rng.integers(0, len(_PHONE_PREFIXES), size=n)]
    suffix = rng.choice(10**8, size=n, replace=False)
    phones = np.char.add(prefixes, np.char.zfill(suffix.astype(str), 8))
    born = np.datetime64("1962-01-01") + rng.integers(0, 14_000, size=n).astype("timedelta64[D]")
    born_text = np.char.replace(born.astype(str), "-", "")
    seq = np.char.zfill(rng.integers(0, 1000, size=n).astype(str), 3)
    first17 = np.char.add(np.char.add(_REGION, born_text), seq)
    digits = np.ascontiguousarray(first17).view("<U1").reshape(n, 17).astype(np.int64)
    check = np.array(list(_ID_CHECK))[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    ids = np.char.add(first17, check)
    return names, phones, ids


def draw_enterprise_names(rng: np.random.Generator, n: int, codes: np.ndarray) -> np.ndarray:
    """``n`` distinct enterprise names; individual businesses (code 92…) are 经营部."""
    b = len(BRAND)
    space = len(_ENTERPRISE_PREFIX) * b * b * len(_INDUSTRY)
    pick = rng.choice(space, size=n, replace=False)
    p, rest = np.divmod(pick, b * b * len(_INDUSTRY))
    b1, rest = np.divmod(rest, b * len(_INDUSTRY))
    b2, ind = np.divmod(rest, len(_INDUSTRY))
    b2 = np.where(b2 == b1, (b2 + 1) % b, b2)
    brand = np.array(list(BRAND))
    stem = np.char.add(np.char.add(brand[b1], brand[b2]), np.array(_INDUSTRY)[ind])
    company = np.char.add(np.array(_ENTERPRISE_PREFIX)[p], stem)
    company = np.char.add(company, np.where(rng.random(n) < 0.1, "股份有限公司", "有限公司"))
    towns = np.array(TOWNS)[rng.integers(0, len(TOWNS), size=n)]
    shop = np.char.add(np.char.add(np.char.add("乐清市", towns), stem), "经营部")
    names = np.where(np.char.startswith(codes.astype(str), "92"), shop, company)
    # two draws may still give the same shop name: make every name distinct
    _, first = np.unique(names, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    names[dup] = np.char.add(names[dup], "（分部）")
    return names
