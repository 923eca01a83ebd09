# ruff: noqa: E501 - the filler templates are text data
"""Loading the evaluation knowledge base, generating filler articles, and scoring the bot.

Used by ``benchmarks/bot.py`` (the sweep, the report) and by the regression test, so both measure
the same thing. Correct = the cited article belongs to the expected topic's translation group (an
English question answered by the English or the Chinese article of the right topic).
"""

import random
import time
from dataclasses import dataclass

from kehu.bot import engine
from kehu.knowledge import services as kb

from .articles import CATEGORIES, TOPICS
from .questions import all_questions, split


def load_kb(actor, topics: list[str] | None = None) -> dict[int, str]:
    """Create the evaluation articles (published, public), or those of ``topics``; article id → topic."""
    chosen = {key: TOPICS[key] for key in topics} if topics else TOPICS
    used = {category for category, _zh, _en in chosen.values()}
    categories = {
        key: kb.create_category(actor, name=zh, name_en=en, position=i)
        for i, (key, (zh, en)) in enumerate(CATEGORIES.items())
        if key in used
    }
    topic_of: dict[int, str] = {}
    for key, (category, zh, en) in chosen.items():
        first = None
        for language, (title, body, keywords) in (("zh-hans", zh), ("en", en)):
            article = kb.create_article(
                actor,
                title=title,
                body=body,
                keywords=keywords,
                language=language,
                category_id=categories[category].pk,
                status="published",
                visibility="public",
                translation_of=first.pk if first else None,
            )
            first = first or article
            topic_of[article.pk] = key
    return topic_of


FILLER_PRODUCTS = [
    ("智能插座", "smart plug"),
    ("摄像头", "camera"),
    ("智能门锁", "door lock"),
    ("网关", "hub"),
    ("温湿度传感器", "sensor"),
    ("智能灯泡", "light bulb"),
    ("窗帘电机", "curtain motor"),
    ("门铃", "doorbell"),
    ("空气净化器", "air purifier"),
]
FILLER_CITIES = [
    ("上海", "Shanghai"),
    ("北京", "Beijing"),
    ("广州", "Guangzhou"),
    ("成都", "Chengdu"),
    ("武汉", "Wuhan"),
    ("杭州", "Hangzhou"),
    ("西安", "Xi'an"),
    ("沈阳", "Shenyang"),
]
FILLER_ZH = [
    "{p} {m} 的规格参数：尺寸 {a}×{b} 毫米，重量 {c} 克，工作温度 -10 至 45 度，支持 {d} 台设备联动。",
    "{city}仓库 {mon} 月 {day} 日起调整作业时间，期间下单的商品顺延发货，物流信息以短信为准。",
    "{p} {m} 安装说明：先关闭电源，固定底座，接好线路后通电，在 App 中添加设备并完成联网。",
    "{p} {m} 常见指示灯含义：蓝灯慢闪表示待机，绿灯常亮表示工作中，黄灯快闪表示正在升级。",
    "{city}门店活动通知：{mon} 月 {day} 日至月底，{p} 系列参加满减活动，数量有限，售完即止。",
    "{p} {m} 兼容性说明：支持与网关、音箱联动，可设置场景和定时，不支持第三方平台的旧版协议。",
]
FILLER_EN = [
    "{p} {m} specifications: {a} x {b} mm, {c} g, operating temperature -10 to 45 °C, links with up to {d} devices.",
    "The {city} warehouse changes its working hours from {mon}/{day}; orders placed meanwhile ship a day later.",
    "Installing the {p} {m}: switch off the power, fix the base, connect the wires, power on and add it in the app.",
    "{p} {m} status lights: slow blue means standby, steady green means working, fast yellow means updating.",
    "{city} store event: from {mon}/{day} to the end of the month the {p} range is on offer while stocks last.",
    "{p} {m} compatibility: works with the hub and smart speakers, scenes and timers; older third-party protocols are not supported.",
]


def generate_filler(actor, count: int, seed: int = 7) -> int:
    """``count`` extra published articles (product specs, warehouse and store notices …) that share
    the shop's vocabulary, so the 1,000-article figures are measured against realistic noise."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    made = 0
    for i in range(count):
        language = "zh-hans" if i % 2 == 0 else "en"
        zh_p, en_p = rng.choice(FILLER_PRODUCTS)
        zh_c, en_c = rng.choice(FILLER_CITIES)
        model = f"{rng.choice('ACDKLMSX')}{rng.randint(10, 999)}"
        values = {
            "m": model,
            "a": rng.randint(40, 300),
            "b": rng.randint(40, 300),
            "c": rng.randint(50, 2000),
            "d": rng.randint(2, 64),
            "mon": rng.randint(1, 12),
            "day": rng.randint(1, 28),
        }
        template = rng.randrange(len(FILLER_ZH))
        if language == "zh-hans":
            body = FILLER_ZH[template].format(p=zh_p, city=zh_c, **values)
            title = {
                0: f"{zh_p} {model} 规格",
                1: f"{zh_c}仓库作业时间调整",
                2: f"{zh_p} {model} 安装",
                3: f"{zh_p} {model} 指示灯",
                4: f"{zh_c}门店活动",
                5: f"{zh_p} {model} 兼容性",
            }[template]
        else:
            body = FILLER_EN[template].format(p=en_p, city=en_c, **values)
            title = {
                0: f"{en_p} {model} specifications",
                1: f"{en_c} warehouse hours",
                2: f"Installing the {en_p} {model}",
                3: f"{en_p} {model} lights",
                4: f"{en_c} store event",
                5: f"{en_p} {model} compatibility",
            }[template]
        kb.create_article(
            actor, title=title, body=body, language=language, status="published", visibility="public"
        )
        made += 1
    return made


@dataclass
class Outcome:
    language: str
    expected: str | None
    question: str
    confidence: float
    top_topic: str | None
    candidate_topics: list[str]
    ms: float


def run_questions(workspace, topic_of: dict[int, str], rows=None) -> list[Outcome]:
    """Search every question once (what the bot's decision rests on), timing it."""
    outcomes = []
    for language, expected, question in rows if rows is not None else all_questions():
        started = time.perf_counter()
        hits, _lang = engine.retrieve(workspace, question)
        ms = (time.perf_counter() - started) * 1000
        top = hits[0] if hits else None
        outcomes.append(
            Outcome(
                language,
                expected,
                question,
                top.confidence if top else 0.0,
                topic_of.get(top.article.pk) if top else None,
                [topic_of.get(h.article.pk, "") for h in hits],
                ms,
            )
        )
    return outcomes


def score(outcomes: list[Outcome], threshold: float) -> dict:
    """Shares at one threshold, for in-scope and out-of-scope questions separately."""
    counts = {
        "in": {"correct": 0, "wrong": 0, "not_answered": 0, "clarified_right": 0, "n": 0},
        "out": {"answered": 0, "not_answered": 0, "n": 0},
    }
    for o in outcomes:
        answered = o.top_topic is not None and o.confidence >= threshold
        if o.expected is None:
            counts["out"]["n"] += 1
            counts["out"]["answered" if answered else "not_answered"] += 1
        else:
            c = counts["in"]
            c["n"] += 1
            if answered:
                c["correct" if o.top_topic == o.expected else "wrong"] += 1
            else:
                c["not_answered"] += 1
                if o.expected in o.candidate_topics[:3] and o.confidence >= engine.clarify_floor():
                    c["clarified_right"] += 1
    total = counts["in"]["n"] + counts["out"]["n"]
    wrong = counts["in"]["wrong"] + counts["out"]["answered"]
    return {
        "threshold": threshold,
        "in_correct": counts["in"]["correct"] / max(1, counts["in"]["n"]),
        "in_wrong": counts["in"]["wrong"] / max(1, counts["in"]["n"]),
        "in_not_answered": counts["in"]["not_answered"] / max(1, counts["in"]["n"]),
        "in_clarified_right": counts["in"]["clarified_right"] / max(1, counts["in"]["n"]),
        "out_answered": counts["out"]["answered"] / max(1, counts["out"]["n"]),
        "out_not_answered": counts["out"]["not_answered"] / max(1, counts["out"]["n"]),
        "wrong_overall": wrong / max(1, total),
        "correct_overall": counts["in"]["correct"] / max(1, total),
        "n_in": counts["in"]["n"],
        "n_out": counts["out"]["n"],
    }


SWEEP = [round(0.02 * i, 2) for i in range(51)]
MAX_WRONG = 0.05
# Tuned to 3 % so the unseen half stays under 5 %: with ~150 questions a 5 % share has a standard
# error of ~1.8 points (a first run tuned to "< 5 %" gave 6.5 % wrong on the test half).
TUNE_WRONG = 0.03


def choose_threshold(*outcome_sets: list[Outcome], max_wrong: float = TUNE_WRONG) -> float:
    """The lowest threshold whose overall wrong share (wrong in-scope answers + answered out-of-scope
    questions, over all questions) is under ``max_wrong`` in every given run (e.g. the tuning half
    on the small and on the 1,000-article knowledge base): it answers the most while staying under."""
    for t in SWEEP:
        if all(score(outcomes, t)["wrong_overall"] < max_wrong for outcomes in outcome_sets):
            return t
    return 1.01


def halves():
    return split(all_questions())
