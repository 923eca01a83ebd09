"""Search keys of Chinese names (pinyin); phones and emails are normalised in ``kehu.core.normalize``."""

from functools import lru_cache


@lru_cache(maxsize=65536)  # Chinese names repeat a lot (王伟, 李娜 …): bulk imports compute each once
def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower-case without spaces: 张伟 → ("zhangwei", "zw").

    Latin words pass through (lower-cased), so mixed names such as "Northwind 贸易" still match.
    """
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(name, errors="default")).lower()
    initials = "".join(
        word[:1] for word in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if word.strip()
    ).lower()
    return "".join(full.split())[:400], "".join(initials.split())[:100]
