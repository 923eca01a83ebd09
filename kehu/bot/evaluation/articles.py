# ruff: noqa: E501 - text data: long article and question strings read better unbroken
"""The evaluation knowledge base: a smart-home shop's help centre (devices, a cloud plan, orders,
shipping, returns, invoices, accounts …), written for this project. Each topic has one article in
Chinese and one in English (a translation group); the questions in ``questions.py`` name the topic.

Shape: TOPICS[key] = (category, (zh title, zh body, zh keywords), (en title, en body, en keywords)).
"""

CATEGORIES = {
    "orders": ("订单", "Orders"),
    "shipping": ("配送", "Shipping"),
    "returns": ("退换货与退款", "Returns and refunds"),
    "invoices": ("发票", "Invoices"),
    "account": ("账户与安全", "Account and security"),
    "payment": ("支付", "Payment"),
    "plans": ("价格与套餐", "Pricing and plans"),
    "promotions": ("优惠与会员", "Offers and membership"),
    "service": ("保修与维修", "Warranty and repair"),
    "devices": ("设备使用", "Using your devices"),
    "company": ("联系我们", "Contact us"),
}

TOPICS: dict[str, tuple[str, tuple[str, str, str], tuple[str, str, str]]] = {
    "order_status": (
        "orders",
        ("查询订单状态",
         "登录后进入“我的订单”，可以看到每个订单的状态：待付款、待发货、已发货、已签收。点击订单可查看物流单号和"
         "物流轨迹。付款后一般 24 小时内发货，发货后您会收到短信通知。",
         "订单进度 物流 到哪了"),
        ("Checking the status of an order",
         "Sign in and open My orders to see each order's status: awaiting payment, awaiting dispatch, "
         "dispatched or delivered. Open an order to see the tracking number and where the parcel is. Orders "
         "usually leave our warehouse within 24 hours of payment, and we send a text message when they do.",
         "track tracking where is my parcel progress"),
    ),
    "cancel_order": (
        "orders",
        ("取消订单",
         "订单发货前可以自行取消：在“我的订单”中打开订单，点击“取消订单”并选择原因。已付款的订单取消后，"
         "款项原路退回。订单一旦发货就无法取消，请在收到包裹后申请退货。",
         "不想要了 撤销 作废"),
        ("Cancelling an order",
         "You can cancel an order yourself until it is dispatched: open it in My orders, click Cancel order "
         "and pick a reason. If you already paid, the money goes back to the original payment method. Once "
         "the order has been dispatched it can no longer be cancelled; request a return after it arrives.",
         "cancel call off withdraw"),
    ),
    "modify_order": (
        "orders",
        ("修改订单信息",
         "订单发货前，可以在订单详情页修改收货地址、收货人电话和配送时间。商品型号和数量不能直接修改，"
         "请取消订单后重新下单。已发货的订单无法修改地址，可联系快递公司改派。",
         "改地址 换地址 改电话 改收件人"),
        ("Changing an order",
         "Before an order is dispatched you can change the delivery address, the recipient's phone number and "
         "the delivery time on the order page. The model and quantity of items cannot be edited: cancel the "
         "order and place a new one. After dispatch the address can only be changed by the courier.",
         "edit amend update address recipient"),
    ),
    "missing_parcel": (
        "shipping",
        ("显示已签收但没收到货",
         "如果物流显示已签收，但您没有收到包裹，请先询问家人、前台、快递柜和驿站。48 小时内仍未找到，"
         "请在订单页点击“申请售后”并选择“未收到货”，我们会联系快递公司核实，核实后为您补发或退款。",
         "丢件 包裹不见了 快递丢了"),
        ("Parcel shown as delivered but not received",
         "If tracking says delivered but you have no parcel, first check with family, reception, parcel "
         "lockers and pick-up points nearby. If it has not turned up within 48 hours, open the order and "
         "choose After-sales > Not received. We investigate with the courier and send a replacement or refund.",
         "lost parcel missing package stolen"),
    ),
    "delivery_time": (
        "shipping",
        ("配送时效",
         "我们使用顺丰和京东物流配送。江浙沪地区一般 1–2 天送达，其他省份 2–4 天，新疆、西藏等偏远地区"
         "5–7 天。大促期间和节假日可能延迟 1–2 天。",
         "多久到 几天到 送货时间"),
        ("How long delivery takes",
         "We ship with SF Express and JD Logistics. Shanghai, Jiangsu and Zhejiang usually get their parcels in "
         "1–2 days, other provinces in 2–4 days, and remote regions such as Xinjiang and Tibet in 5–7 days. "
         "Big sales and public holidays can add one or two days.",
         "how long days arrive transit"),
    ),
    "shipping_fee": (
        "shipping",
        ("运费标准",
         "单笔订单满 99 元免运费，不满 99 元收取 10 元运费。偏远地区每单加收 15 元。会员每月有 2 张免运费券。",
         "邮费 包邮 快递费"),
        ("Shipping charges",
         "Orders of 99 yuan or more ship free; below that we charge 10 yuan. Remote regions pay an extra 15 "
         "yuan per order. Members get two free-shipping vouchers every month.",
         "postage delivery fee free shipping cost"),
    ),
    "international": (
        "shipping",
        ("海外及港澳台配送",
         "目前我们支持配送到香港、澳门、台湾以及新加坡、马来西亚。海外订单需要支付国际运费和当地进口税，"
         "时效 7–15 天。其他国家和地区暂不支持配送。",
         "国外 出国 境外 寄到国外"),
        ("Delivery outside mainland China",
         "We deliver to Hong Kong, Macau, Taiwan, Singapore and Malaysia. Orders abroad pay international "
         "postage and local import duty, and take 7–15 days. We cannot deliver to other countries yet.",
         "overseas abroad international worldwide"),
    ),
    "damaged_parcel": (
        "shipping",
        ("包裹破损或商品损坏",
         "签收时请当面检查外包装。如发现破损，可以拒收，或拍照后签收。收到后发现商品损坏，请在 48 小时内"
         "在订单页提交照片申请售后，我们会免费换新。",
         "摔坏 压坏 碎了 外箱破了"),
        ("Damaged parcel or broken item",
         "Please check the box when the courier hands it over. If it is damaged you can refuse it, or take "
         "photos and accept it. If the item turns out to be broken, send photos from the order page within 48 "
         "hours and we replace it free of charge.",
         "broken crushed arrived damaged"),
    ),
    "return_policy": (
        "returns",
        ("7 天无理由退货",
         "签收之日起 7 天内，商品未使用、配件齐全、包装完好，可以申请无理由退货。定制商品和已激活的云服务"
         "不支持无理由退货。在订单页点击“申请退货”，审核通过后按页面提示寄回。",
         "不喜欢 退掉 退回"),
        ("Returning an item within 7 days",
         "Within 7 days of delivery you can return any item without giving a reason, provided it is unused, "
         "complete and in its original packaging. Custom-made items and activated cloud services are excluded. "
         "Click Return on the order page and send the item back once the request is approved.",
         "send back return window no reason"),
    ),
    "refund_time": (
        "returns",
        ("退款多久到账",
         "仓库收到退货并检查后，1 个工作日内发起退款。支付宝和微信支付一般当天到账，银行卡 3–7 个工作日，"
         "信用卡以发卡行为准。退款进度可在订单页查看。",
         "钱什么时候退回来 退钱"),
        ("When refunds arrive",
         "We start the refund within one working day after the warehouse receives and checks the return. "
         "Alipay and WeChat Pay usually receive it the same day, bank cards in 3–7 working days, credit cards "
         "depending on the issuing bank. The order page shows the refund's progress.",
         "money back reimbursement refund status"),
    ),
    "exchange": (
        "returns",
        ("换货",
         "收货 15 天内，商品有质量问题可以申请换货；颜色或型号选错，7 天内未使用的也可以换。在订单页选择"
         "“换货”，寄回原商品，我们收到后 2 个工作日内发出新商品。",
         "换一个 换颜色 换型号"),
        ("Exchanging an item",
         "Within 15 days of delivery a faulty item can be exchanged; within 7 days an unused item in the wrong "
         "colour or model can be too. Choose Exchange on the order page and send the item back: the new one "
         "leaves within two working days of its arrival.",
         "swap replace different colour model"),
    ),
    "return_shipping": (
        "returns",
        ("退货运费由谁承担",
         "商品有质量问题或发错货，退货运费由我们承担，寄回时选择到付即可。无理由退货的运费由顾客承担；"
         "购买了运费险的订单，运费险会补偿。",
         "寄回邮费 退货邮费 运费险"),
        ("Who pays for return postage",
         "If the item is faulty or we sent the wrong one, we pay the return postage: send it cash on delivery. "
         "For a no-reason return the customer pays; orders with return shipping insurance are compensated by it.",
         "return postage label cost of sending back"),
    ),
    "invoice_request": (
        "invoices",
        ("如何开具发票",
         "我们提供电子普通发票。下单时在“发票”中填写抬头和税号，发货后 3 个工作日内发票会发送到您的邮箱，"
         "也可以在订单页下载。下单时忘了填写，可以在确认收货后 30 天内在订单页补开。",
         "开票 电子发票 报销"),
        ("Getting an invoice (fapiao)",
         "We issue electronic general invoices. Enter the invoice title and tax number under Invoice when you "
         "order; the invoice is emailed within three working days of dispatch and can be downloaded from the "
         "order page. Forgot it? Request it on the order page within 30 days of delivery.",
         "fapiao receipt tax invoice expense claim"),
    ),
    "vat_invoice": (
        "invoices",
        ("增值税专用发票",
         "企业客户可以申请增值税专用发票。首次申请请在“账户设置 > 发票信息”中上传营业执照，并填写开户银行、"
         "账号、注册地址和电话。审核通过后，专票随货寄出或在 5 个工作日内邮寄。",
         "专票 企业发票 进项抵扣"),
        ("Special VAT invoices for companies",
         "Business customers can ask for a special VAT invoice. The first time, upload your business licence "
         "under Account settings > Invoice details and enter your bank, account number, registered address and "
         "phone. Once approved the invoice ships with the goods or is posted within five working days.",
         "VAT special invoice business input tax deduction company"),
    ),
    "invoice_fix": (
        "invoices",
        ("发票信息填错怎么办",
         "如果发票抬头、税号等信息有误，可以在订单页点击“换开发票”，填写正确信息后提交，原发票会作废并在"
         "3 个工作日内重新开具。纸质专票需要先把原发票寄回。",
         "抬头错了 税号错了 重开 红冲"),
        ("Correcting a wrong invoice",
         "If the invoice title, tax number or other details are wrong, click Reissue invoice on the order page "
         "and submit the correct details. We void the old one and issue a new invoice within three working "
         "days. Paper special VAT invoices must be posted back first.",
         "wrong title tax id reissue mistake"),
    ),
    "register": (
        "account",
        ("注册账户",
         "在 App 或网站点击“注册”，输入手机号并填写短信验证码，设置登录密码即可完成注册。一个手机号只能注册"
         "一个账户。也可以使用微信一键登录，首次登录会自动创建账户。",
         "新用户 开户 创建账号"),
        ("Creating an account",
         "Click Sign up in the app or on the website, enter your mobile number and the code we text you, then "
         "choose a password. One mobile number can hold one account. You can also log in with WeChat: your "
         "account is created the first time.",
         "sign up register new customer"),
    ),
    "reset_password": (
        "account",
        ("忘记密码",
         "在登录页点击“忘记密码”，输入注册手机号，填写短信验证码后设置新密码。新密码至少 8 位，需包含字母和"
         "数字。连续输错 5 次密码，账户会锁定 30 分钟。",
         "登不上 登录不了 找回密码 重置密码"),
        ("Forgotten password",
         "On the login page click Forgot password, enter the mobile number of your account and the code we "
         "text you, then choose a new password of at least 8 characters with letters and digits. Five wrong "
         "attempts in a row lock the account for 30 minutes.",
         "reset password can't log in locked out"),
    ),
    "change_phone": (
        "account",
        ("更换绑定的手机号",
         "进入“账户设置 > 安全”，点击“更换手机号”，先验证原手机号，再验证新手机号。原手机号已停用的，"
         "可以上传身份证照片人工审核，1–2 个工作日完成。",
         "换号 手机号不用了 新号码"),
        ("Changing your mobile number",
         "Go to Account settings > Security and click Change mobile number. Confirm the old number, then the "
         "new one. If the old number no longer works, upload a photo of your ID card and we check it by hand "
         "within one or two working days.",
         "new phone number lost SIM update number"),
    ),
    "delete_account": (
        "account",
        ("注销账户",
         "在“账户设置 > 注销账户”中提交申请。注销前请确认没有未完成的订单和售后，账户余额、积分和优惠券会"
         "一并清空。提交后 15 天内可以撤销，15 天后账户和个人信息将被永久删除。",
         "销户 删除账号 不用了"),
        ("Closing your account",
         "Request it under Account settings > Close account. Make sure no order or after-sales case is still "
         "open: your balance, points and coupons are lost. You can change your mind within 15 days; after that "
         "the account and your personal data are deleted for good.",
         "delete my account remove close"),
    ),
    "two_factor": (
        "account",
        ("登录保护与两步验证",
         "在“账户设置 > 安全”中开启登录保护后，在新设备登录时除了密码还需要输入短信验证码。发现异地登录提醒"
         "请立即修改密码，并在“登录设备”中移除不认识的设备。",
         "账号被盗 异地登录 安全"),
        ("Two-step verification",
         "Turn on login protection under Account settings > Security: signing in on a new device then needs a "
         "text-message code as well as your password. If we warn you about a sign-in you do not recognise, "
         "change your password at once and remove unknown devices under Signed-in devices.",
         "2fa hacked suspicious login security"),
    ),
    "payment_methods": (
        "payment",
        ("支持的支付方式",
         "我们支持支付宝、微信支付、银联储蓄卡和信用卡，企业客户可以对公转账。对公转账请在备注中填写订单号，"
         "到账后 1 个工作日内确认。暂不支持货到付款。",
         "怎么付钱 付款方式 对公转账"),
        ("Ways to pay",
         "We accept Alipay, WeChat Pay, UnionPay debit and credit cards; business customers can also pay by "
         "bank transfer (put the order number in the reference: we confirm within one working day of receipt). "
         "Cash on delivery is not offered.",
         "pay with alipay wechat card bank transfer"),
    ),
    "payment_failed": (
        "payment",
        ("支付失败怎么办",
         "支付失败常见原因：银行卡余额不足、超过单笔限额、网络中断。请检查后重试，或换一种支付方式。"
         "如果扣款成功但订单仍显示待付款，款项会在 24 小时内自动退回。",
         "付不了款 扣了钱 付款不成功"),
        ("When a payment fails",
         "Payments usually fail because of an insufficient balance, a card limit or a dropped connection. Check "
         "and try again, or choose another way to pay. If you were charged but the order still says awaiting "
         "payment, the money is returned automatically within 24 hours.",
         "declined charged twice payment error"),
    ),
    "installments": (
        "payment",
        ("分期付款",
         "单笔满 600 元可以使用花呗或信用卡分期，支持 3、6、12 期。3 期免息，6 期和 12 期的手续费以支付页面"
         "显示为准。提前还款和手续费规则由花呗或发卡行决定。",
         "分期 免息 花呗"),
        ("Paying in instalments",
         "Orders of 600 yuan or more can be paid in 3, 6 or 12 monthly instalments with Huabei or a credit "
         "card. Three instalments are interest-free; the fee for 6 or 12 is shown on the payment page. Early "
         "repayment follows Huabei's or the bank's rules.",
         "instalments installments monthly interest free"),
    ),
    "cloud_plans": (
        "plans",
        ("云存储套餐价格",
         "摄像头云存储有三种套餐：基础版 7 天循环录像 每月 9 元；高级版 30 天循环录像 每月 19 元；"
         "家庭版最多 5 台摄像头 30 天录像 每月 39 元。按年付费享八五折。",
         "云录像 收费 多少钱 资费"),
        ("Cloud storage plans and prices",
         "Camera cloud storage comes in three plans: Basic keeps 7 days of recordings for 9 yuan a month, "
         "Premium keeps 30 days for 19 yuan, and Family covers up to five cameras with 30 days for 39 yuan. "
         "Paying yearly saves 15%.",
         "cloud recording subscription price cost monthly"),
    ),
    "change_plan": (
        "plans",
        ("升级或降级套餐",
         "在 App 的“云服务”中可以随时升级套餐，差价按剩余天数折算，立即生效。降级在当前周期结束后生效，"
         "超出新套餐时长的录像会被删除。",
         "换套餐 升级 降级"),
        ("Upgrading or downgrading a plan",
         "Upgrade your cloud plan at any time under Cloud services in the app: you pay the difference for the "
         "remaining days and the new plan starts at once. A downgrade starts at the end of the current period, "
         "and recordings older than the new plan keeps are deleted.",
         "upgrade downgrade switch plan"),
    ),
    "auto_renew": (
        "plans",
        ("取消自动续费",
         "云服务默认自动续费，到期前 3 天扣款并短信提醒。在 App“云服务 > 管理订阅”中关闭自动续费即可；"
         "通过苹果 App Store 订阅的，请在 iPhone 的“设置 > Apple ID > 订阅”中取消。",
         "关闭续费 停止扣费 退订"),
        ("Stopping automatic renewal",
         "Cloud plans renew automatically: we charge three days before the end of the period and send a text "
         "first. Turn renewal off under Cloud services > Manage subscription in the app. If you subscribed "
         "through Apple's App Store, cancel it in your iPhone's Settings > Apple ID > Subscriptions.",
         "unsubscribe stop charging recurring billing"),
    ),
    "coupons": (
        "promotions",
        ("优惠券使用规则",
         "优惠券在结算页自动使用面额最大的一张，也可以手动选择。每笔订单限用一张店铺券和一张平台券，"
         "过期的优惠券无法恢复。退货后，未过期的优惠券会退回账户。",
         "满减 折扣券 红包"),
        ("Using coupons",
         "At checkout the coupon worth most is applied automatically, or you can pick one. An order takes at "
         "most one shop coupon and one platform coupon; expired coupons cannot be restored. After a return, "
         "coupons that have not expired come back to your account.",
         "voucher discount code promo"),
    ),
    "points": (
        "promotions",
        ("会员积分",
         "每消费 1 元得 1 积分，评价晒单再得 10 积分。100 积分可抵扣 1 元，单笔最多抵扣订单金额的 20%。"
         "积分有效期为获得之日起 12 个月。",
         "积分兑换 积分抵现 积分过期"),
        ("Membership points",
         "You earn one point per yuan spent, and ten more for a review with photos. 100 points take 1 yuan "
         "off, up to 20% of an order. Points expire 12 months after you earn them.",
         "loyalty rewards points redeem expire"),
    ),
    "price_protection": (
        "promotions",
        ("价格保护",
         "签收后 7 天内，同一商品在本店降价，可以申请价保，差价以积分或原路退回。限时秒杀、优惠券和赠品"
         "带来的降价不在价保范围内。",
         "降价 补差价 保价"),
        ("Price protection",
         "If the same item gets cheaper in our shop within 7 days of delivery, apply for price protection and "
         "we refund the difference as points or to your payment method. Flash sales, coupons and free gifts "
         "do not count.",
         "price drop cheaper difference refund"),
    ),
    "warranty": (
        "service",
        ("保修政策",
         "所有设备享受 1 年免费保修，摄像头和门锁主机 2 年。保修期内非人为损坏免费维修或更换。进水、摔坏、"
         "私自拆机不在保修范围内。保修期从签收日起计算，凭订单即可，无需保修卡。",
         "质保 保多久 免费修"),
        ("Warranty",
         "Every device has a one-year warranty; cameras and door-lock units two years. Faults that are not "
         "caused by damage are repaired or replaced free of charge. Water damage, drops and opening the device "
         "yourself are not covered. The warranty starts on delivery; your order is your proof.",
         "guarantee covered how long free repair"),
    ),
    "repair": (
        "service",
        ("送修流程",
         "在订单页点击“申请维修”，描述故障并上传照片或视频。审核通过后，我们安排快递上门取件，维修周期"
         "一般 5–7 个工作日。保修期外的维修会先报价，确认后再维修。",
         "坏了 修理 售后维修 寄修"),
        ("Sending a device for repair",
         "Click Request repair on the order page, describe the fault and add photos or a video. Once approved, "
         "a courier collects the device; repairs take 5–7 working days. Out of warranty we send a quote first "
         "and repair only after you accept it.",
         "fix broken device not working service centre"),
    ),
    "wifi_setup": (
        "devices",
        ("设备连接 Wi-Fi",
         "打开 App，点击“添加设备”，按提示长按设备的配网键 5 秒，指示灯快闪后选择家里的 Wi-Fi 并输入密码。"
         "设备只支持 2.4GHz 网络，不支持 5GHz。连接失败时请把手机和设备靠近路由器再试。",
         "配网 连不上网 无线网络 联网"),
        ("Connecting a device to Wi-Fi",
         "In the app tap Add device, hold the device's pairing button for 5 seconds until the light flashes "
         "fast, then choose your home network and enter its password. Devices work on 2.4 GHz networks only, "
         "not 5 GHz. If pairing fails, move the phone and device closer to the router and retry.",
         "pairing wireless network offline connect"),
    ),
    "firmware": (
        "devices",
        ("固件升级",
         "设备有新固件时，App 会在设备页提示。点击“升级”后请保持设备通电和联网，升级约 3–5 分钟，期间不要"
         "断电。也可以在“设置 > 自动升级”中开启夜间自动升级。",
         "更新 系统更新 版本"),
        ("Updating device firmware",
         "When new firmware is out, the device page in the app tells you. Tap Update and keep the device "
         "powered and online: it takes 3–5 minutes, do not unplug it. You can also turn on automatic updates at "
         "night under Settings > Automatic updates.",
         "update software version upgrade firmware"),
    ),
    "door_lock_battery": (
        "devices",
        ("智能门锁电池与应急开锁",
         "门锁使用 8 节 5 号碱性电池，约可使用 10 个月。电量低时门锁会语音提醒，App 也会推送通知。电池耗尽时，"
         "可以用充电宝连接门锁底部的 USB-C 应急接口供电后开锁，或使用机械钥匙。",
         "没电 换电池 打不开门"),
        ("Door lock batteries and emergency opening",
         "The lock runs on eight AA alkaline batteries for about ten months. When they run low the lock says so "
         "and the app sends a notification. If they are flat, power the lock from a power bank through the USB-C "
         "port underneath to open it, or use the mechanical key.",
         "flat battery dead lock locked out power"),
    ),
    "contact": (
        "company",
        ("联系客服",
         "在线客服和热线 400-820-1234 的服务时间是每天 9:00–21:00，法定节假日照常服务。也可以发邮件到 "
         "help@example.cn，我们会在 1 个工作日内回复。",
         "电话 人工客服 工作时间 邮箱"),
        ("Contacting customer service",
         "Live chat and the hotline 400-820-1234 are open every day from 9:00 to 21:00, public holidays "
         "included. You can also email help@example.cn: we answer within one working day.",
         "phone hotline opening hours email support"),
    ),
    "business_purchase": (
        "company",
        ("企业采购",
         "企业批量采购 20 台以上可享受阶梯价格，并提供上门安装和专属客户经理。请在“企业采购”页面填写需求，"
         "客户经理会在 1 个工作日内联系您并提供报价单和合同。",
         "批量 团购 大客户 报价"),
        ("Buying for a business",
         "Companies buying 20 units or more get volume prices, on-site installation and a dedicated account "
         "manager. Fill in the Business purchases page: an account manager contacts you within one working "
         "day with a quote and a contract.",
         "bulk order volume discount corporate quote"),
    ),
    "privacy": (
        "account",
        ("个人信息与隐私",
         "摄像头录像经过加密存储，只有您和您授权的家人可以查看。您可以在“账户设置 > 隐私”中下载个人数据副本，"
         "或撤回授权。我们不会向第三方出售您的个人信息。",
         "数据安全 录像被看 隐私政策"),
        ("Your personal data and privacy",
         "Camera recordings are stored encrypted and only you and family members you invite can watch them. "
         "Under Account settings > Privacy you can download a copy of your personal data or withdraw consent. "
         "We never sell personal information to third parties.",
         "data protection privacy policy gdpr download my data"),
    ),
    "camera_offline": (
        "devices",
        ("摄像头离线",
         "摄像头显示离线时，请检查电源适配器和指示灯：红灯常亮表示网络断开。重启路由器和摄像头，确认 Wi-Fi "
         "密码没有修改。修改过 Wi-Fi 密码的，需要在 App 中重新配网。",
         "看不到画面 断线 连不上"),
        ("Camera shows offline",
         "If a camera shows offline, check its power adapter and light: a steady red light means no network. "
         "Restart the router and the camera, and make sure the Wi-Fi password has not changed; if it has, pair "
         "the camera again in the app.",
         "no picture disconnected not online live view"),
    ),
}
