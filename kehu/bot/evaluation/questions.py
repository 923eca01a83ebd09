# ruff: noqa: E501 - text data: long article and question strings read better unbroken
"""The evaluation questions: paraphrases of what customers ask about each topic of ``articles.py``
(three in Chinese, three in English, avoiding the article titles' wording), and out-of-scope
questions (None) whose right outcome is a clarification or a handover, not an answer.

``split(questions)`` halves them deterministically: the threshold is tuned on "tune" and the
figures are reported on "test".
"""

IN_SCOPE: dict[str, tuple[list[str], list[str]]] = {
    "order_status": (
        ["我买的东西现在到哪一步了？", "下单之后在哪里能看到物流单号", "付完款多久能发出来，怎么看进度"],
        ["Where can I see if my purchase has shipped yet?", "How do I find the tracking number for my purchase?",
         "I paid yesterday, how can I follow what is happening with my purchase?"],
    ),
    "cancel_order": (
        ["刚下的单不想要了能撤销吗", "付款后还没发货，可以不买了吗", "怎么把订单作废，钱能退回来吗"],
        ["I changed my mind, can I call off what I just bought?", "Is it possible to stop my purchase before it ships?",
         "How do I withdraw a purchase I already paid for?"],
    ),
    "modify_order": (
        ["下单时收货地址写错了还能改吗", "收件人电话填错了怎么更正", "想把购买的数量从两个改成三个"],
        ["I typed the wrong street when ordering, can I fix it?", "Can I update the recipient phone number on my purchase?",
         "Can I add one more unit to an order I placed?"],
    ),
    "missing_parcel": (
        ["快递说送到了可是我家门口什么都没有", "物流显示签收了但我根本没拿到", "包裹好像丢了，显示已经被签收"],
        ["Tracking says it was delivered but nothing is at my door", "The courier claims I signed for it but I never got it",
         "My package seems to have disappeared after being marked delivered"],
    ),
    "delivery_time": (
        ["下单后一般几天能送到北京", "寄到新疆要多长时间", "你们用什么快递，快不快"],
        ["How many days until my parcel reaches Beijing?", "Which courier do you use and how fast is it?",
         "If I order today when will it get to Chengdu?"],
    ),
    "shipping_fee": (
        ["买多少钱包邮", "邮费怎么算的，要另外付吗", "只买一个小配件也要收快递费吗"],
        ["Do I have to pay for postage?", "What is the minimum spend to get free delivery?",
         "How much extra is it to send a small accessory?"],
    ),
    "international": (
        ["可以寄到美国吗", "我在新加坡，能买你们的东西吗", "寄到香港要交税吗"],
        ["Do you ship to the United States?", "I live in Malaysia, can you send my order here?",
         "Will I pay import tax if I order from Hong Kong?"],
    ),
    "damaged_parcel": (
        ["收到的盒子被压扁了，里面东西坏了", "快递送来的时候箱子破了要不要签收", "拆开发现屏幕碎了怎么办"],
        ["The box arrived crushed and the item inside is broken", "Should I accept a parcel whose box is torn open?",
         "I unpacked it and the screen was cracked, what now?"],
    ),
    "return_policy": (
        ["买回来不喜欢可以退吗", "没拆封的东西几天内能退", "收到后觉得不合适，想退掉"],
        ["I don't like what I bought, can I send it back?", "How many days do I have to give back an unused item?",
         "Can I return something without a reason?"],
    ),
    "refund_time": (
        ["退货寄回去了，钱几天能回到支付宝", "退的钱什么时候能到银行卡", "已经退货一周了还没收到退款"],
        ["I sent the item back, when will I get my money?", "How long until the money returns to my bank card?",
         "It's been a week since my return and no money yet"],
    ),
    "exchange": (
        ["颜色买错了能换成白色吗", "收到的东西有毛病，想换个新的", "型号选错了怎么换"],
        ["I picked the wrong colour, can I swap it?", "The item is faulty, can I get a new one instead?",
         "I ordered the wrong model, how do I switch it for the right one?"],
    ),
    "return_shipping": (
        ["退货的邮费是我出还是你们出", "寄回去的快递费谁付", "商品有问题退回去要我付运费吗"],
        ["Who pays the postage when I send something back?", "Do I need to pay shipping to return a faulty item?",
         "Is sending an item back free?"],
    ),
    "invoice_request": (
        ["买东西能给开票吗，公司要报销", "电子发票在哪里下载", "下单忘了填抬头，还能补开票吗"],
        ["I need a fapiao for my expense claim, how do I get one?", "Where can I download the e-invoice for my purchase?",
         "I forgot to request a receipt for tax purposes when ordering"],
    ),
    "vat_invoice": (
        ["我们公司需要专票抵扣，怎么申请", "企业要增值税专用的票需要什么资料", "专票多久能寄到"],
        ["Our company needs a VAT invoice for input tax deduction", "What documents do you need for a special VAT fapiao?",
         "How does a business get a VAT special invoice from you?"],
    ),
    "invoice_fix": (
        ["发票上公司名称写错了能重新开吗", "税号填错了怎么办", "开出来的票信息不对想换开"],
        ["The company name on my fapiao is wrong, can you redo it?", "I entered an incorrect tax ID on the invoice",
         "Can you reissue a receipt with the right company details?"],
    ),
    "register": (
        ["新用户怎么开户", "没有账号怎么创建一个", "可以用微信直接登录吗"],
        ["How do I sign up as a new customer?", "I don't have an account yet, how do I make one?",
         "Can I log in with WeChat instead of creating a login?"],
    ),
    "reset_password": (
        ["登录密码想不起来了", "密码输错太多次被锁住了", "怎么找回登录的密码"],
        ["I can't remember my login", "My account got locked after too many wrong attempts",
         "How do I set a new password if I lost the old one?"],
    ),
    "change_phone": (
        ["原来的手机号不用了，账号怎么办", "想换一个新号码绑定账户", "旧号码已经停机收不到验证码"],
        ["My old phone number is gone, how do I update my account?", "I got a new SIM, how do I link the new number?",
         "I can't receive codes because my previous number is cancelled"],
    ),
    "delete_account": (
        ["我不想用了，怎么把账号删掉", "注销以后积分还在吗", "如何永久删除我的账户"],
        ["How can I remove my account completely?", "I want to delete my profile and all my data",
         "If I close my account, what happens to my points?"],
    ),
    "two_factor": (
        ["收到提醒说有人在别的城市登录我的账号", "怎么让账号更安全，登录要验证码", "感觉账号被盗了怎么办"],
        ["I got an alert about a login I don't recognise", "How do I turn on 2FA for my account?",
         "I think someone hacked my account"],
    ),
    "payment_methods": (
        ["可以用微信付钱吗", "支持信用卡吗", "能货到付款吗"],
        ["Can I pay with Alipay?", "Do you accept credit cards?", "Can our company pay by bank transfer?"],
    ),
    "payment_failed": (
        ["付款的时候一直提示失败", "钱扣了但订单还是待付款", "银行卡付不了是什么原因"],
        ["My card keeps getting declined at checkout", "I was charged but the order still says unpaid",
         "Why won't my payment go through?"],
    ),
    "installments": (
        ["可以用花呗分期吗", "买贵的东西能分几个月付", "分期有没有利息"],
        ["Can I spread the cost over several months?", "Is there interest if I split the payment?",
         "Do you offer monthly payments with Huabei?"],
    ),
    "cloud_plans": (
        ["摄像头的云录像多少钱一个月", "云存储有几种套餐", "按年买云服务有优惠吗"],
        ["How much does cloud recording cost per month?", "What cloud storage options are there for cameras?",
         "Is it cheaper to pay for cloud storage yearly?"],
    ),
    "change_plan": (
        ["现在是基础版，想换成高级版", "云服务能换便宜一点的吗", "套餐升级后差价怎么算"],
        ["I'm on Basic and want Premium cloud", "Can I move to a cheaper cloud plan?",
         "How is the price difference calculated when I switch plans?"],
    ),
    "auto_renew": (
        ["不想每个月自动扣钱了", "怎么关掉云服务的自动续订", "苹果手机上订阅的怎么退订"],
        ["How do I stop being charged every month for the cloud plan?", "I want to turn off the recurring payment",
         "I subscribed on my iPhone, how do I unsubscribe?"],
    ),
    "coupons": (
        ["结账时怎么用满减券", "一个订单可以用两张券吗", "退货后我的券还能回来吗"],
        ["How do I apply a discount code at checkout?", "Can I use two vouchers on one order?",
         "Do I get my voucher back if I return the item?"],
    ),
    "points": (
        ["积分可以抵多少钱", "买东西能攒积分吗", "积分会不会过期"],
        ["How many points do I earn per purchase?", "Can I use my reward points to pay?",
         "Do my loyalty points expire?"],
    ),
    "price_protection": (
        ["刚买完就降价了，能退差价吗", "买贵了可以补差价吗", "签收后几天内降价能保价"],
        ["The price dropped right after I bought it, can I get the difference?", "It got cheaper a few days after delivery",
         "Do you refund the difference if the price goes down?"],
    ),
    "warranty": (
        ["门锁坏了，保几年", "买的插座一年内坏了免费修吗", "进水了还在质保范围内吗"],
        ["How long is the guarantee on the camera?", "Is water damage covered?",
         "My plug stopped working after 8 months, is it free to fix?"],
    ),
    "repair": (
        ["设备坏了要寄到哪里修", "修东西要多长时间", "过了保修期还能修吗，怎么收费"],
        ["My device stopped working, how do I get it fixed?", "How long does a repair take?",
         "Can you fix it even though the warranty has ended?"],
    ),
    "wifi_setup": (
        ["新买的插座连不上家里的网", "设备配网一直失败", "支持5G的无线网吗"],
        ["My new smart plug won't join my home network", "Pairing keeps failing in the app",
         "Does the device work with 5 GHz Wi-Fi?"],
    ),
    "firmware": (
        ["设备提示有新版本要不要更新", "升级系统的时候能拔电吗", "怎么设置自动更新"],
        ["Should I install the new software version on my device?", "How long does an update take?",
         "Can updates install automatically at night?"],
    ),
    "door_lock_battery": (
        ["门锁没电了进不了家门", "门锁用什么电池，多久换一次", "智能锁提示电量低"],
        ["My smart lock is dead and I'm stuck outside", "What batteries does the lock take?",
         "The lock keeps saying low power, what should I do?"],
    ),
    "contact": (
        ["客服电话是多少", "晚上几点以后就没人接电话了", "周末和节假日有客服吗"],
        ["What's your hotline number?", "What time does support close?",
         "Is anyone available to help on public holidays?"],
    ),
    "business_purchase": (
        ["公司想买50台摄像头有优惠吗", "大批量采购怎么报价", "企业买能上门安装吗"],
        ["We want to buy 100 units for our offices, is there a discount?", "How do companies get a quote for a bulk order?",
         "Do you install on site for corporate customers?"],
    ),
    "privacy": (
        ["摄像头拍的视频别人能看到吗", "怎么导出我的个人数据", "你们会把我的信息卖给别人吗"],
        ["Can anyone else watch my camera videos?", "How do I get a copy of the data you hold about me?",
         "Do you share my information with other companies?"],
    ),
    "camera_offline": (
        ["摄像头看不到画面了，一直转圈", "监控亮红灯是什么意思", "改了家里的无线密码后摄像头不能用了"],
        ["My camera says it's disconnected", "The camera light is solid red and there's no video",
         "After changing my router password the camera stopped working"],
    ),
}

OUT_OF_SCOPE: tuple[list[str], list[str]] = (
    [
        "你们公司在招聘吗", "今天北京天气怎么样", "可以去门店自提吗", "你们卖礼品卡吗", "扫地机器人有没有货",
        "我想投诉上次那个快递员态度很差", "能帮我写一份年终总结吗", "你们的股票代码是多少", "可以用比特币付款吗",
        "有没有学生优惠", "我想加盟开店", "你们的工厂在哪里", "能帮我预约上门测量窗帘吗", "空调清洗多少钱",
        "手机充电器可以用你们的插座吗，功率多大", "推荐一款适合老人的手机", "你们和小米比哪个好", "我要开发票给个人还是公司划算",
        "门锁能装在防火门上吗", "摄像头可以在室外淋雨吗", "有没有以旧换新活动", "可以开收据不要发票吗",
        "你们支持数字人民币吗", "产品有没有CE认证", "我想做你们的代理商", "能不能帮我修别家买的门锁",
        "订阅服务有发票吗可以按月开吗", "可以把摄像头借我试用几天吗", "有没有线下体验店在上海", "员工内购怎么买",
        "帮我查一下我的社保", "这个月的账单为什么多了", "可以捐赠给学校吗", "你们的API文档在哪里",
        "家里停电了摄像头能录像吗", "孩子误买了东西能追回来吗", "快递员可以送上楼吗", "我想预约明天下午安装",
        "你们会参加双十一吗", "可以开具英文发票吗",
    ],
    [
        "Are you hiring software engineers?", "What's the weather in Shanghai tomorrow?", "Can I collect my order in a store?",
        "Do you sell gift cards?", "Is the robot vacuum back in stock?", "I want to complain about the rude delivery driver",
        "Can you write me a poem about cats?", "What is your stock ticker?", "Can I pay with Bitcoin?",
        "Is there a student discount?", "How do I become a franchise partner?", "Where is your factory located?",
        "Can someone come measure my windows for curtains?", "How much does air conditioner cleaning cost?",
        "Which phone do you recommend for my grandmother?", "Is your camera better than Xiaomi's?",
        "Can the lock be fitted on a fire door?", "Can the camera be used outdoors in heavy rain?",
        "Do you have a trade-in program for old devices?", "Do you accept the digital yuan?",
        "Do your products have CE certification?", "I want to become a reseller in Europe",
        "Can you repair a lock I bought from another brand?", "Can I borrow a camera for a free trial?",
        "Is there a showroom in Shanghai I can visit?", "How do employees buy at the staff discount?",
        "Why is this month's bill higher than usual?", "Can I donate devices to a school?",
        "Where is your API documentation?", "Does the camera record during a power cut?",
        "My child bought something by accident, can it be undone by parental controls?",
        "Will the courier carry it upstairs to my flat?", "Can I book an installer for tomorrow afternoon?",
        "Will you have deals on Singles' Day?", "Can I get the fapiao issued in English?",
        "What's the meaning of life?", "Do you offer a bug bounty?", "How do I integrate the lock with Home Assistant?",
        "Can I rent the devices instead of buying?", "Is there an affiliate program for bloggers?",
    ],
)


def all_questions() -> list[tuple[str, str | None, str]]:
    """(language, expected topic or None, question) for every question, in a fixed order."""
    rows: list[tuple[str, str | None, str]] = []
    for topic, (zh, en) in IN_SCOPE.items():
        rows += [("zh-hans", topic, q) for q in zh] + [("en", topic, q) for q in en]
    zh, en = OUT_OF_SCOPE
    rows += [("zh-hans", None, q) for q in zh] + [("en", None, q) for q in en]
    return rows


def split(rows: list[tuple[str, str | None, str]]) -> tuple[list, list]:
    """(tune, test): alternate questions within each (topic, language), so both halves cover every
    topic and language; deterministic."""
    tune, test = [], []
    seen: dict[tuple[str, str | None], int] = {}
    offsets: dict[tuple[str, str | None], int] = {}
    for row in rows:
        key = (row[0], row[1])
        offsets.setdefault(key, len(offsets) % 2)  # groups of three: 2+1, then 1+2, …
        index = seen.get(key, 0)
        seen[key] = index + 1
        (tune if (index + offsets[key]) % 2 == 0 else test).append(row)
    return tune, test
