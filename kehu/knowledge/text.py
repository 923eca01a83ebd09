"""Text → search terms for Chinese and English (the knowledge base's one tokenizer).

Chinese runs are cut by jieba into words *and* into character bigrams: jieba's words give precise
matches ("发票" "退款"), the bigrams catch what the dictionary cuts differently in a question than in
the article ("开发票" vs "开具发票"). English words are lowercased and stemmed by a few suffix
rules ("refunds", "refunded" → "refund"). Function words of both languages are dropped.

jieba builds its prefix dictionary on first use (~0.8 s) and caches it as a pickle: the cache lives
in ``DATA_DIR/cache`` (never a shared /tmp file another user could plant) and the dictionary is
loaded once per process.
"""

import logging
import re
import threading
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN = re.compile(rf"[{CJK}]+|[a-z0-9]+(?:['’][a-z]+)?")
HAS_CJK = re.compile(rf"[{CJK}]")

EN_STOP = frozenset(
    """a about above after again all am an and any are as at be been before being below between both but
    by can could did do does doing don down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours out over own same she should so some such than that the their theirs
    them then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself please hi hello thanks thank want
    need know tell get got let lets us im ive id cant dont doesnt isnt wont one way also would like""".split()  # noqa: SIM905
)
ZH_STOP = frozenset(
    """的 了 吗 呢 吧 啊 呀 哦 嘛 么 我 你 您 他 她 它 我们 你们
    他们 是 在 有 和 与 及 或 就 都 也 还 又 把 被 让 给 对
    从 到 向 为 为了 这 那 这个 那个 这些 那些 哪 哪个 哪些 什么
    怎么 怎样 怎么样 如何 为什么 多少 几 能 能不能 可以 可不可以
    可否 是否 要 想 想要 需要 应该 请问 请 一下 一个 个 吗 啥
    咋 自己 现在 时候 如果 的话 一 下 能否 会 不会 没有 没 不
    得 地 着 过 上 中 里 后 前 这样 那样 怎么办 该 办 呗 谢谢
    你好 您好 问 问题 一些 知道 告诉""".split()  # noqa: SIM905
)
ZH_STOP_CHARS = frozenset(
    "的了吗呢吧啊呀哦嘛么我你您他她它是在和与或就都也"
    "还又把被让给这那哪啥咋个一请问想要怎何什"
)

# Words customers use for the same thing, folded into one term at index and at query time (both
# sides, so it is a normalisation, not a query trick). Keys are terms after stemming / jieba.
SYNONYMS = {
    # English (stems)
    "purchas": "order", "bought": "order", "buy": "order", "package": "parcel", "shipment": "ship",
    "courier": "deliver", "postag": "shipping", "voucher": "coupon", "promo": "coupon",
    "guarante": "warranty", "fix": "repair", "mend": "repair", "broken": "damag", "faulty": "fault",
    "remov": "delet", "sign-up": "regist", "signup": "regist", "login": "log", "hotlin": "phon",
    "telephon": "phon", "unsubscrib": "cancel", "money": "refund", "reimburs": "refund",
    "receipt": "invoic", "fapiao": "invoic", "pwd": "password", "passcod": "password", "wifi": "wi-fi",
    "router": "wi-fi", "firmwar": "updat", "softwar": "updat", "instal": "instal", "cheaper": "cheap",
    # Chinese (jieba words)
    "快递": "物流", "快递费": "运费", "邮费": "运费", "包邮": "免运费", "退钱": "退款", "钱款": "款项",
    "质保": "保修", "保修期": "保修", "修理": "维修", "修好": "维修", "开票": "发票", "票": "发票",
    "账号": "账户", "帐号": "账户", "帐户": "账户", "手机号码": "手机号", "号码": "手机号", "密码": "密码",
    "优惠券": "优惠券", "券": "优惠券", "红包": "优惠券", "折扣": "优惠", "删掉": "删除", "注销": "删除",
    "更新": "升级", "配网": "联网", "无线网": "wi-fi", "网络": "wi-fi", "路由器": "wi-fi",
    "东西": "商品", "寄回": "退回", "退掉": "退货",
}

log = logging.getLogger(__name__)
_lock = threading.Lock()
_tokenizer = None


def _cache_dir() -> Path:
    from django.conf import settings

    path = Path(settings.DATA_DIR) / "cache"
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
    except OSError:  # read-only data dir: a private temporary folder of this process
        import tempfile

        return Path(tempfile.mkdtemp(prefix="kehu-jieba-"))


def jieba_tokenizer():
    """The process's jieba tokenizer (built on first use; the dictionary cache in the data dir)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                with warnings.catch_warnings():  # jieba 0.42 has invalid escapes in its regexes
                    warnings.simplefilter("ignore", SyntaxWarning)
                    import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.tmp_dir = str(_cache_dir())
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def stem(word: str) -> str:
    """A light English stemmer: enough to join plural, past and -ing forms of one word."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement, min_len in (
        ("ational", "ate", 8), ("ation", "", 7), ("ments", "", 7), ("ment", "", 6), ("ness", "", 6),
        ("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("edly", "", 6), ("ed", "", 5), ("ly", "", 5),
        ("es", "", 5), ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            if suffix == "s" and word[-2] in "su":  # "address", "status"
                return word
            if suffix == "es" and word[-3] not in "sxz" and not word.endswith(("ches", "shes")):
                word = word[:-1]  # "invoices" → "invoice" (then the final e goes below)
                break
            word = word[: -len(suffix)] + replacement
            doubled = len(word) > 3 and word[-1] == word[-2] and word[-1] not in "sz"
            if suffix in {"ing", "ed", "ation"} and doubled:
                word = word[:-1]  # "shipped" → "ship"
            break
    if word.endswith(("e", "y")) and len(word) > 4:
        word = word[:-1]  # "change"/"changing", "delivery"/"deliver"
    return word


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def is_chinese(text: str) -> bool:
    return bool(HAS_CJK.search(text or ""))


def terms(text: str) -> list[str]:
    """Search terms of ``text`` in order (repeats kept): Chinese words, "~" bigrams, English stems."""
    out: list[str] = []
    for run in RUN.findall(normalize(text)):
        if HAS_CJK.match(run):
            for word in jieba_tokenizer().lcut(run, HMM=False):
                if word not in ZH_STOP and not (len(word) == 1 and word in ZH_STOP_CHARS):
                    out.append(SYNONYMS.get(word, word))
            for i in range(len(run) - 1):
                pair = run[i : i + 2]
                if pair not in ZH_STOP and not (pair[0] in ZH_STOP_CHARS or pair[1] in ZH_STOP_CHARS):
                    out.append("~" + pair)
        else:
            word = run.replace("’", "'").split("'")[0]
            if word and word not in EN_STOP and (len(word) > 1 or word.isdigit()):
                stemmed = stem(word)
                out.append(SYNONYMS.get(stemmed, stemmed)[:64])
    return out


def weighted_terms(*fields: tuple[str, float]) -> Counter:
    """Term → weight over several (text, weight) fields: the title counts more than the body."""
    counts: Counter = Counter()
    for text, weight in fields:
        for term in terms(text):
            counts[term] += weight
    return counts
