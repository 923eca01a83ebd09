"""Search keys of Chinese names (pinyin); phones and emails are normalised in ``kehu.core.normalize``."""

from functools import lru_cache

from django.db.models import CharField, F, Func


@lru_cache(maxsize=65536)
def syllables(text: str) -> tuple[str, ...]:
    """pypinyin's syllables of ``text`` (a non-Chinese run stays one chunk), once per distinct text:
    the search keys and the duplicate matcher's name tokens are both made from them."""
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text, errors="default"))


@lru_cache(maxsize=65536)  # Chinese names repeat a lot (王伟, 李娜 …): bulk imports compute each once
def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower-case without spaces: 张伟 → ("zhangwei", "zw").

    Latin words pass through (lower-cased), so mixed names such as "Northwind 贸易" still match.
    """
    # One conversion: a syllable's first letter is its FIRST_LETTER style (checked on 52k names and
    # companies) and the conversion is most of the cost (≈ 130 µs for a company name).
    words = syllables(name)
    full = "".join(words).lower()
    initials = "".join(word[:1] for word in words if word.strip()).lower()
    return "".join(full.split())[:400], "".join(initials.split())[:100]


class PinyinStem(Func):
    """A name's pinyin without its last letter, written with literals only: SQLite uses an
    expression index only for a query expression written exactly like the index's (a bound
    parameter in its place does not count)."""

    template = "SUBSTR(%(expressions)s, 1, LENGTH(%(expressions)s) - 1)"
    output_field = CharField()

    def __init__(self):
        super().__init__(F("name_pinyin"))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="LEFT(%(expressions)s, -1)", **extra)


def pinyin_stem() -> PinyinStem:
    """The name's pinyin without its last letter, for the duplicate finders' lookups through an
    expression index: equal stems, or one name equal to the other's stem, are the names that
    differ only at the end (a typo, a dropped or an added letter)."""
    return PinyinStem()
