"""Sentiment of a survey comment (positive / neutral / negative), Chinese and English.

The method (``VERSION`` "clf-1") is a scikit-learn classifier: TF-IDF over character 1–3-grams
(within word boundaries, so it needs no Chinese word segmenter and copes with mixed zh/en text) and a
logistic regression, trained in-process on first use from the ``dev`` split of the project's own
labelled comments (``sentiment_data/``, 240 comments; ~0.2 s). The label is the most probable class;
``score`` is P(positive) − P(negative), −1 … 1.

A lexicon scorer with negation handling (``lexicon_label``: longest-match Chinese terms, English
phrases, negators that flip the next sentiment word, "but"/"但是" contrast) was written first and is
kept for comparison: it was near-perfect on the comments it was written from and on the held-out
ones written in the same sitting, but on comments written after it was frozen it fell to 53 % (zh)
and 70 % (en), where the classifier — which never saw any of the held-out text — reached 90 % and
70 %. Figures, data and caveats: ``benchmarks/sentiment.py`` and docs/performance.md.

``VERSION`` changes whenever the method, its settings or its training data change; stored answers
computed with an older version are recomputed by ``services.refresh_sentiment``.
"""

import re
from dataclasses import dataclass
from functools import cache

VERSION = "clf-1"
LEXICON_VERSION = "lex-1"

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
THRESHOLD = 0.5

# --- English -----------------------------------------------------------------------------------

EN_PHRASES: dict[str, float] = {
    "above and beyond": 2,
    "no complaints": 2,
    "no hassle": 2,
    "without any hassle": 2,
    "well done": 2,
    "good job": 2,
    "great job": 2,
    "thank you": 1.5,
    "thanks a lot": 2,
    "made my day": 2,
    "nice touch": 1.5,
    "keep it up": 1.5,
    "works perfectly": 2,
    "works again": 1.5,
    "first call": 1,
    "did not help": -2,
    "didn't help": -2,
    "does not work": -2,
    "doesn't work": -2,
    "not work": -2,
    "not fixed": -2,
    "not resolved": -2,
    "not solved": -2,
    "nothing was fixed": -2.5,
    "waste of time": -2.5,
    "fed up": -2.5,
    "never showed up": -2.5,
    "never happened": -2,
    "no one": -1,
    "no one cares": -2.5,
    "hung up": -2,
    "still waiting": -2,
    "still broken": -2.5,
    "still not": -1.5,
    "on hold": -0.5,
    "too slow": -2,
    "too high": -1.5,
    "far too": -1,
    "broke again": -2.5,
    "keeps coming back": -2,
    "again and again": -1.5,
    "got disconnected": -2,
    "called back": 0,
    "no reply": -2,
    "without a reply": -2,
    "without any explanation": -2,
    "lack of": -1.5,
    "instead of": -0.5,
    "switching to another": -2.5,
    "could be better": -0.5,
    "expected better": -2,
    "expected much better": -2,
    "nothing special": 0,
    "nothing to add": 0,
    "neither good nor bad": 0,
    "as expected": 0,
    "couldn't have asked for a better": 3,
    "could not have asked for a better": 3,
}

EN_WORDS: dict[str, float] = {
    # positive
    "thanks": 1.5,
    "thank": 1.5,
    "grateful": 2,
    "appreciate": 2,
    "appreciated": 2,
    "helpful": 2,
    "great": 2,
    "excellent": 2.5,
    "good": 1.5,
    "nice": 1.5,
    "awesome": 2.5,
    "amazing": 2.5,
    "fantastic": 2.5,
    "wonderful": 2.5,
    "brilliant": 2.5,
    "outstanding": 2.5,
    "perfect": 2,
    "perfectly": 2,
    "best": 2,
    "top": 1.5,
    "love": 2,
    "liked": 1.5,
    "like": 0.5,
    "happy": 2,
    "glad": 2,
    "pleased": 2,
    "satisfied": 2,
    "impressed": 2,
    "impressive": 2,
    "quick": 1,
    "quickly": 1,
    "fast": 1,
    "speedy": 1.5,
    "prompt": 1.5,
    "efficient": 1.5,
    "friendly": 1.5,
    "polite": 1.5,
    "kind": 1.5,
    "patient": 1.5,
    "patience": 1.5,
    "professional": 1.5,
    "professionally": 1.5,
    "competent": 1.5,
    "knowledgeable": 1.5,
    "responsive": 1.5,
    "clear": 1,
    "clearly": 1,
    "accurate": 1.5,
    "easy": 1,
    "smooth": 1.5,
    "solved": 1.5,
    "fixed": 1.5,
    "resolved": 1,
    "recommend": 2,
    "reliable": 1.5,
    "fair": 1,
    "well": 0.5,
    "fits": 1,
    "saved": 1,
    "sorted": 1,
    "worked": 1,
    "works": 0.5,
    "wow": 2,
    "superb": 2.5,
    "stars": 1,
    "helped": 1.5,
    "help": 0.5,
    # negative
    "bad": -2,
    "poor": -2,
    "terrible": -2.5,
    "awful": -2.5,
    "horrible": -2.5,
    "worst": -3,
    "rude": -2.5,
    "disappointed": -2,
    "disappointing": -2,
    "unhappy": -2,
    "frustrating": -2,
    "frustrated": -2,
    "annoying": -2,
    "annoyed": -2,
    "irritating": -2,
    "unacceptable": -2.5,
    "unprofessional": -2.5,
    "useless": -2.5,
    "unhelpful": -2,
    "slow": -1.5,
    "late": -1.5,
    "delay": -1.5,
    "delays": -1.5,
    "delayed": -1.5,
    "waiting": -1,
    "wrong": -1.5,
    "incorrect": -1.5,
    "broken": -2,
    "broke": -2,
    "damaged": -2,
    "defective": -2,
    "fails": -2,
    "failed": -2,
    "failure": -2,
    "never": -1,
    "ignored": -2,
    "ignore": -1.5,
    "blamed": -2,
    "complicated": -1,
    "worse": -2,
    "vague": -1.5,
    "rejected": -1.5,
    "twice": -0.5,
    "lost": -1,
    "problem": -0.3,
    "issue": -0.2,
    "bug": -1,
    "cancelled": -1,
    "cancel": -0.5,
    "expensive": -1.5,
    "busy": -0.5,
    "not": 0,
    "hassle": -1.5,
    "mistake": -1.5,
    "horrendous": -3,
    "disconnected": -1.5,
    "transferring": -1,
    "dropped": -1.5,
    "complaint": -0.5,
    "understand": 1,
    "understood": 1,
    "nobody": -1.5,
}

EN_NEGATORS = {
    "not",
    "no",
    "never",
    "n't",
    "nothing",
    "without",
    "hardly",
    "neither",
    "nor",
    "cannot",
    "nobody",
}
EN_CONTRAST = {"but", "however", "although", "though", "yet"}
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|n't")


def _en_tokens(text: str) -> list[str]:
    out = []
    for token in _EN_TOKEN.findall(text.lower().replace("’", "'")):
        if token.endswith("n't") and token != "n't":
            out += [token[:-3] or token, "n't"]
        else:
            out.append(token)
    return out


_EN_PHRASE_LIST = sorted(((p.split(), w) for p, w in EN_PHRASES.items()), key=lambda x: -len(x[0]))


def score_en(text: str) -> float:
    tokens = _en_tokens(text)
    total, weight, i = 0.0, 1.0, 0
    negate_until = -1
    while i < len(tokens):
        token = tokens[i]
        if token in EN_CONTRAST:
            total *= 0.5  # what came before the "but" counts less
            i += 1
            continue
        matched = None
        for words, value in _EN_PHRASE_LIST:
            if tokens[i : i + len(words)] == words:
                matched = (len(words), value)
                break
        if matched:
            total += matched[1] * weight
            i += matched[0]
            continue
        value = EN_WORDS.get(token, 0.0)
        if token in EN_NEGATORS:
            negate_until = i + 3
            total += value * weight  # "nobody", "never" are negative on their own too
        elif value:
            if i <= negate_until:
                # "not bad" is mild praise, "not helpful" is criticism: flip and damp.
                value = -value * (0.5 if value < 0 else 1.0)
                negate_until = -1
            total += value * weight
        i += 1
    return total


# --- Chinese -----------------------------------------------------------------------------------

ZH_TERMS: dict[str, float] = {
    # positive
    "谢谢": 1.5,
    "感谢": 2,
    "感激": 2,
    "多谢": 1.5,
    "辛苦": 1,
    "满意": 2,
    "很好": 2,
    "真好": 2,
    "好评": 2,
    "点赞": 2,
    "赞": 1.5,
    "棒": 2,
    "太棒": 2.5,
    "厉害": 2,
    "出色": 2.5,
    "一流": 2.5,
    "专业": 1.5,
    "靠谱": 2,
    "给力": 2,
    "耐心": 1.5,
    "细心": 1.5,
    "细致": 1.5,
    "热情": 1.5,
    "亲切": 1.5,
    "贴心": 2,
    "周到": 2,
    "用心": 1.5,
    "负责": 1.5,
    "高效": 2,
    "效率很高": 2,
    "及时": 1.5,
    "很快": 1.5,
    "快": 0.5,
    "顺利": 1.5,
    "顺畅": 1.5,
    "清楚": 1,
    "准确": 1.5,
    "到位": 1.5,
    "妥当": 1.5,
    "合理": 1,
    "公道": 1.5,
    "推荐": 2,
    "值得": 1.5,
    "信赖": 1.5,
    "不错": 1.5,
    "挺好": 1.5,
    "好的服务": 2,
    "服务好": 2,
    "态度好": 2,
    "服务真好": 2.5,
    "解决了": 1.5,
    "修好": 1,
    "恢复正常": 1.5,
    "一切正常": 1.5,
    "正常了": 1,
    "帮助": 1,
    "帮了大忙": 2.5,
    "帮忙": 1,
    "有帮助": 2,
    "喜欢": 2,
    "佩服": 2,
    "超出预期": 2.5,
    "幸好": 1.5,
    "礼貌": 1.5,
    "能力": 0.5,
    "节省": 1,
    "合适": 1,
    "越来越好": 2,
    "继续保持": 1.5,
    "一次性解决": 2,
    "彻底解决": 2,
    "好": 0.5,
    "准时": 1.5,
    "体验很好": 2,
    "非常好": 2.5,
    "不麻烦": 1.5,
    "没有任何问题": 2,
    "没出过问题": 2,
    "没有让我失望": 2.5,
    # negative
    "差": -2,
    "太差": -2.5,
    "很差": -2.5,
    "最差": -3,
    "差劲": -2.5,
    "糟糕": -2.5,
    "很糟": -2.5,
    "失望": -2,
    "不满": -2,
    "不满意": -2.5,
    "不高兴": -2,
    "生气": -2,
    "恼火": -2,
    "烦": -1.5,
    "烦人": -2,
    "受够": -2.5,
    "无法接受": -2.5,
    "不专业": -2.5,
    "推给": -1.5,
    "推卸": -2,
    "没用": -2,
    "没有用": -2,
    "一点用都没有": -2.5,
    "没帮上忙": -2,
    "没有帮助": -2,
    "慢": -1.5,
    "太慢": -2,
    "延迟": -1.5,
    "延误": -1.5,
    "耽误": -2,
    "等了": -1,
    "还没": -1.5,
    "没人": -1.5,
    "没有人": -1.5,
    "没人管": -2.5,
    "没人回复": -2.5,
    "没有下文": -2,
    "挂": -1,
    "挂我电话": -2.5,
    "断线": -1.5,
    "坏": -1.5,
    "坏了": -2,
    "又坏": -2.5,
    "还是坏": -2.5,
    "故障": -1,
    "出故障": -1.5,
    "质量问题": -2,
    "错": -1,
    "开错": -2,
    "不对": -1.5,
    "是错的": -2,
    "没解决": -2,
    "没有解决": -2,
    "还没解决": -2.5,
    "没修好": -2,
    "不行": -1.5,
    "用不了": -2,
    "复杂": -1,
    "越弄越糟": -2.5,
    "含糊": -1.5,
    "被拒": -1.5,
    "被忽视": -2,
    "忽视": -1.5,
    "太高": -1.5,
    "投诉": -0.5,
    "占线": -1,
    "浪费": -2,
    "浪费时间": -2.5,
    "重复扣款": -2,
    "不推荐": -2.5,
    "换供应商": -2.5,
    "没来": -2,
    "根本": -0.5,
    "重复说": -1.5,
    "转来转去": -2,
    "没有任何解释": -2,
    "没有进展": -1.5,
    "反复出现": -2,
    "下降": -1.5,
    "一直没": -1.5,
    "弄坏": -2.5,
    "断了": -1,
    "没听懂": -1.5,
    "没有任何回复": -2.5,
    "不清": -1,
    "说不清": -1.5,
    "没看": -1.5,
    "用不上": -1.5,
    # neutral-looking phrases that contain sentiment characters
    "一般": 0,
    "还行": 0,
    "还可以": 0,
    "马马虎虎": 0,
    "说不上好也说不上坏": 0,
    "有好的地方": 0,
    "需要改进": -0.5,
    "好也": 0,
}

ZH_NEGATORS = ("没有", "不是", "无法", "不", "没", "未", "别", "非")
ZH_CONTRAST = ("但是", "可是", "不过", "但", "却", "结果", "没想到")
_ZH_MAX = max(len(t) for t in ZH_TERMS)


def score_zh(text: str) -> float:
    total, i, n = 0.0, 0, len(text)
    while i < n:
        for contrast in ZH_CONTRAST:
            if text.startswith(contrast, i):
                total *= 0.5
                i += len(contrast)
                break
        else:
            for length in range(min(_ZH_MAX, n - i), 0, -1):
                term = text[i : i + length]
                if term in ZH_TERMS:
                    value = ZH_TERMS[term]
                    if value and _zh_negated(text, i):
                        value = -value * (0.5 if value < 0 else 1.0)
                    total += value
                    i += length
                    break
            else:
                i += 1
    return total


def _zh_negated(text: str, start: int) -> bool:
    """A negator right before the entry (allowing one degree word between: 不太满意, 没那么好)."""
    before = text[max(0, start - 4) : start]
    for skip in ("", "太", "很", "那么", "怎么", "是很", "够"):
        for negator in ZH_NEGATORS:
            if before.endswith(negator + skip):
                return True
    return False


# --- both --------------------------------------------------------------------------------------

_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Result:
    label: str
    score: float
    language: str


def language_of(text: str) -> str:
    """ "zh" when at least one character in five is a Han character, else "en"."""
    han = len(_HAN.findall(text))
    letters = sum(1 for c in text if c.isalpha())
    return "zh" if letters and han * 5 >= letters else "en"


def lexicon_label(text: str) -> Result:
    """The lexicon scorer's label (the comparison method, not the one stored)."""
    text = (text or "").strip()
    if not text:
        return Result(NEUTRAL, 0.0, "")
    language = language_of(text)
    score = score_zh(text) if language == "zh" else score_en(text)
    if score > THRESHOLD:
        label = POSITIVE
    elif score < -THRESHOLD:
        label = NEGATIVE
    else:
        label = NEUTRAL
    return Result(label, round(score, 2), language)


def pipeline():
    """The classifier, untrained (``benchmarks/sentiment.py --cv`` cross-validates this one)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=True),
        LogisticRegression(max_iter=2000, C=10.0),
    )


@cache
def _model():
    """The classifier, trained once per process on the ``dev`` comments of both languages."""
    from .evaluation import load

    rows = load("dev", "zh") + load("dev", "en")
    model = pipeline()
    model.fit([text for _label, text in rows], [label for label, _text in rows])
    return model


def analyse(text: str) -> Result:
    """The comment's label, score (P(positive) − P(negative)) and detected language; an empty
    comment is neutral."""
    text = (text or "").strip()
    if not text:
        return Result(NEUTRAL, 0.0, "")
    model = _model()
    probabilities = dict(zip(model.classes_, model.predict_proba([text[:2000]])[0], strict=True))
    label = str(max(probabilities, key=probabilities.get))
    score = float(probabilities.get(POSITIVE, 0.0) - probabilities.get(NEGATIVE, 0.0))
    return Result(label, round(score, 3), language_of(text))
