"""Column mapping suggestions: from header names (Chinese and English synonyms, other CRMs' export
headers) and, for columns the names do not explain, from what the sampled values look like."""

import re
import unicodedata

from kehu.core.normalize import half_width

from .cleanse import CellError, parse_date

# Field key → header names meaning it (compared without case, spaces, dashes, underscores).
SYNONYMS: dict[str, list[str]] = {
    "name": [
        "name",
        "full name",
        "fullname",
        "姓名",
        "名字",
        "名称",
        "联系人",
        "联系人姓名",
        "product name",
        "产品名称",
        "商品名称",
    ],
    "first_name": ["first name", "firstname", "given name", "名", "first"],
    "last_name": ["last name", "lastname", "surname", "family name", "姓", "last"],
    "name_en": ["english name", "latin name", "英文名", "英文名称", "拼音名"],
    "email": [
        "email",
        "e-mail",
        "email address",
        "mail",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "邮箱地址",
        "primary email",
    ],
    "phone": [
        "phone",
        "telephone",
        "tel",
        "phone number",
        "business phone",
        "work phone",
        "电话",
        "座机",
        "联系电话",
        "办公电话",
        "电话号码",
        "固话",
    ],
    "mobile": [
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "mobile phone number",
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
    ],
    "account": [
        "company",
        "company name",
        "account",
        "account name",
        "organization",
        "organisation",
        "公司",
        "公司名称",
        "企业",
        "企业名称",
        "单位",
        "所属公司",
        "客户名称",
        "所属客户",
    ],
    "job_title": ["title", "job title", "position", "role", "职位", "职务", "头衔", "岗位"],
    # Leads keep their company (and job title) as plain text fields.
    "company": [
        "company",
        "company name",
        "organization",
        "organisation",
        "公司",
        "公司名称",
        "企业",
        "单位",
    ],
    "title": ["title", "job title", "position", "职位", "职务", "头衔", "岗位"],
    "utm_campaign": ["campaign", "campaign name", "广告活动", "推广活动"],
    "department": ["department", "dept", "部门"],
    "birthday": ["birthday", "birthdate", "date of birth", "dob", "生日", "出生日期"],
    "industry": ["industry", "行业", "所属行业"],
    "website": ["website", "web site", "url", "homepage", "网站", "网址", "官网", "company domain name"],
    "city": ["city", "mailing city", "billing city", "城市", "市"],
    "province": [
        "province",
        "state",
        "state/region",
        "mailing state",
        "billing state",
        "省",
        "省份",
        "省/州",
        "州",
    ],
    "district": ["district", "区", "区县", "县区"],
    "street": [
        "street",
        "address",
        "street address",
        "mailing street",
        "billing street",
        "地址",
        "详细地址",
        "街道",
    ],
    "postcode": [
        "postcode",
        "zip",
        "zip code",
        "postal code",
        "mailing zip",
        "billing zip",
        "邮编",
        "邮政编码",
    ],
    "country": ["country", "country code", "mailing country", "国家"],
    "source": ["source", "lead source", "来源", "客户来源"],
    "description": ["description", "notes", "备注", "描述", "说明"],
    "owner": ["owner", "owner email", "account owner", "contact owner", "负责人", "所有者", "负责人邮箱"],
    "tags": ["tags", "tag", "标签"],
    "sku": ["sku", "product code", "item code", "产品编码", "商品编码", "货号", "物料编码"],
    "category": ["category", "类别", "分类", "产品类别"],
    "unit_price": ["price", "unit price", "list price", "单价", "价格", "售价"],
    "unit_cost": ["cost", "unit cost", "成本", "成本价"],
    "currency": ["currency", "币种", "货币"],
    "active": ["active", "enabled", "启用", "是否启用", "有效"],
    "number": ["order number", "order no", "order #", "订单号", "订单编号"],
    "external_id": ["external id", "erp id", "外部编号", "外部id"],
    "order_date": ["order date", "date", "下单日期", "订单日期", "日期"],
    "status": ["status", "状态"],
    "discount": ["discount", "order discount", "折扣", "优惠"],
    "line.sku": ["sku", "product sku", "product code", "产品编码", "商品编码"],
    "line.quantity": ["quantity", "qty", "数量"],
    "line.unit_price": ["unit price", "price", "单价"],
    "line.description": ["product", "product name", "item", "产品", "产品名称", "商品名称"],
    "line.discount": ["line discount", "行折扣"],
    "kind": ["type", "kind", "activity type", "类型"],
    "subject": ["subject", "主题", "标题"],
    "body": ["body", "notes", "content", "内容", "记录", "备注"],
    "occurred_at": ["date", "time", "activity date", "时间", "日期", "发生时间"],
    "contact": ["contact email", "contact", "联系人邮箱", "联系人"],
    "consent_email": ["email opt in", "email consent", "同意邮件营销"],
    "preferred_channel": ["preferred channel", "首选渠道"],
}

# Export headers of other CRMs, per object: header → field key.
PRESETS: dict[str, dict[str, dict[str, str]]] = {
    "salesforce": {
        "contacts": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Account Name": "account",
            "Title": "job_title",
            "Department": "department",
            "Email": "email",
            "Phone": "phone",
            "Mobile Phone": "mobile",
            "Birthdate": "birthday",
            "Lead Source": "tags",
            "Contact Owner": "owner",
        },
        "accounts": {
            "Account Name": "name",
            "Phone": "phone",
            "Website": "website",
            "Industry": "industry",
            "Billing Street": "street",
            "Billing City": "city",
            "Billing State/Province": "province",
            "Billing Zip/Postal Code": "postcode",
            "Billing Country": "country",
            "Description": "description",
            "Account Owner": "owner",
        },
    },
    "hubspot": {
        "contacts": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Phone Number": "phone",
            "Mobile Phone Number": "mobile",
            "Company Name": "account",
            "Job Title": "job_title",
            "Contact owner": "owner",
        },
        "accounts": {
            "Company name": "name",
            "Company Domain Name": "website",
            "Phone Number": "phone",
            "Industry": "industry",
            "City": "city",
            "State/Region": "province",
            "Postal Code": "postcode",
            "Street Address": "street",
            "Company owner": "owner",
        },
    },
    "zoho": {
        "contacts": {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Account Name": "account",
            "Email": "email",
            "Phone": "phone",
            "Mobile": "mobile",
            "Title": "job_title",
            "Department": "department",
            "Date of Birth": "birthday",
            "Contact Owner": "owner",
        },
        "accounts": {
            "Account Name": "name",
            "Phone": "phone",
            "Website": "website",
            "Industry": "industry",
            "Billing City": "city",
            "Billing State": "province",
            "Billing Code": "postcode",
            "Billing Street": "street",
            "Description": "description",
            "Account Owner": "owner",
        },
    },
}

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[\d\s().\-]{7,20}$")


def squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", half_width(text)).lower()
    return re.sub(r"[\s_\-:：*()（）]+", "", text)


def _index(field_keys: list[str], target: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for key in field_keys:
        words = SYNONYMS.get(key, [])
        if key == "name" and target == "accounts":  # an account's name is the company's name
            words = SYNONYMS["account"] + ["客户", "客户名", "单位名称"] + words
        for synonym in words:
            index.setdefault(squash(synonym), key)
    return index


def detect_preset(headers: list[str], target: str) -> str:
    """The other CRM whose export this looks like (most of its headers present), or ""."""
    best, best_hits = "", 0
    for name, objects in PRESETS.items():
        preset = objects.get(target) or {}
        hits = sum(1 for h in headers if h in preset)
        if hits >= 3 and hits > best_hits:
            best, best_hits = name, hits
    return best


def suggest(headers: list[str], samples: list[list[str]], fields: list, target: str) -> dict[str, str]:
    """{header: field key} for the columns we can explain; each field used at most once."""
    keys = [f.key for f in fields]
    by_label = {squash(str(f.label)): f.key for f in fields}
    by_key = {squash(k.removeprefix("custom.")): k for k in keys}
    synonyms = _index(keys, target)
    preset = PRESETS.get(detect_preset(headers, target), {}).get(target, {})
    mapping: dict[str, str] = {}
    used: set[str] = set()

    def take(header: str, key: str | None) -> None:
        if key and key in keys and key not in used and header not in mapping:
            mapping[header] = key
            used.add(key)

    for header in headers:
        take(header, preset.get(header))
    for header in headers:
        s = squash(header)
        take(header, by_key.get(s) or by_label.get(s))
    for header in headers:
        take(header, synonyms.get(squash(header)))
    # Columns no name explains: what do their values look like?
    for col, header in enumerate(headers):
        if header in mapping:
            continue
        values = [r[col].strip() for r in samples if col < len(r) and r[col].strip()][:50]
        if len(values) < 2:
            continue
        guess = _guess(values)
        if guess == "email":
            take(header, "email" if "email" in keys else "contact" if "contact" in keys else None)
        elif guess == "phone":
            take(header, "mobile" if "phone" in used and "mobile" in keys else "phone")
        elif guess == "date":
            take(header, next((k for k in ("birthday", "order_date", "occurred_at") if k in keys), None))
    return mapping


def _guess(values: list[str]) -> str:
    def share(check) -> float:
        return sum(1 for v in values if check(v)) / len(values)

    if share(lambda v: EMAIL.match(half_width(v))) >= 0.8:
        return "email"
    if share(lambda v: PHONE.match(half_width(v)) and sum(c.isdigit() for c in v) >= 7) >= 0.8:
        return "phone"

    def is_date(v: str) -> bool:
        try:
            parse_date(v)
        except CellError:
            return False
        return True

    if share(is_date) >= 0.8:
        return "date"
    return ""
