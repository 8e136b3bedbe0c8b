package loadgen

// The word lists below give the stream a Chinese B2C/B2B sales flavour. They
// are data, not logic: indexes into them come from the seeded generator, so
// editing a list changes the stream for every seed (golden outputs included).

var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
	"郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
	"彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
	"魏", "吕", "丁", "任", "沈", "欧阳", "司马",
}

var givenNames = []string{
	"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
	"涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "浩", "宇轩", "欣怡", "子涵", "梓萱",
	"一诺", "思远", "俊杰", "晨", "雪", "婷", "慧", "佳琪", "鑫", "凯", "欢", "建国", "志强",
	"海燕", "晓东", "丹丹", "文博", "雨桐", "嘉怡", "浩然", "诗涵", "宏伟",
}

// nicknames stand in for customers whose WeChat name is not a real name.
var nicknames = []string{
	"Amy", "Kevin", "Lily", "Jason", "Coco", "阳光", "小鱼儿", "追梦人", "静待花开", "平安是福",
	"A-张姐", "🌸花开富贵", "Mr.Li", "小太阳", "岁月静好", "奔跑的蜗牛", "Grace", "阿杰",
}

var cities = []string{"深圳市", "广州市", "杭州", "上海", "北京", "成都", "武汉", "苏州", "南京", "西安", "厦门", "长沙"}

var brands = []string{"华远", "鼎盛", "新锐", "宏图", "博雅", "启明", "远航", "恒信", "嘉禾", "瑞丰", "云帆", "优品", "智联", "百川"}

var trades = []string{"科技", "教育科技", "贸易", "医疗器械", "餐饮管理", "物流", "房地产经纪", "汽车服务", "文化传媒", "电子商务"}

var remarkSuffixes = []string{"老客户", "意向强", "价格敏感", "已报价", "转介绍", "决策人", "待回访", "家长", "VIP", "展会"}

var descriptions = []string{
	"决策人", "采购负责人", "老板娘，店里说了算", "技术对接人", "通过展会认识", "家长，孩子上三年级",
	"对接过竞品，比较谨慎", "年底有预算", "朋友介绍，信任度高", "只看不买，偶尔咨询",
}

var followupNotes = []string{
	"电话沟通，客户关注价格", "发送了产品资料", "约了下周上门演示", "客户在比较竞品", "已报价，等待反馈",
	"客户暂无预算，下季度再跟进", "确认了需求，准备方案", "客户出差，改天再联系", "参加了线上直播",
	"微信沟通，客户回复积极", "提醒续费", "处理售后问题", "客户要求试用两周", "和财务确认了付款方式",
}

// channelCodes are "state" values of contact-me QR codes and acquisition
// links: WeCom allows 30 characters.
var channelCodes = []string{
	"qr_store_sz", "qr_expo_2026", "ad_douyin", "ad_baidu_sem", "ad_xhs", "wx_article",
	"web_landing", "poster_618", "referral", "live_0915", "kol_bilibili", "sms_q4",
}

var apps = []string{"wxwork_pc", "wxwork_ios", "wxwork_android", "siyu_web"}

// tagVocab lists the tag groups a typical tenant defines, in display order.
var tagVocab = []struct{ group, name string }{
	{"客户等级", "A类客户"}, {"客户等级", "B类客户"}, {"客户等级", "C类客户"}, {"客户等级", "VIP"},
	{"意向", "高意向"}, {"意向", "中意向"}, {"意向", "低意向"}, {"意向", "暂无意向"},
	{"来源", "抖音"}, {"来源", "百度"}, {"来源", "小红书"}, {"来源", "公众号"}, {"来源", "展会"},
	{"来源", "转介绍"}, {"来源", "官网"}, {"来源", "地推"}, {"来源", "直播"},
	{"行业", "教育"}, {"行业", "金融"}, {"行业", "医疗"}, {"行业", "零售"}, {"行业", "制造"},
	{"行业", "互联网"}, {"行业", "房地产"}, {"行业", "汽车"}, {"行业", "餐饮"}, {"行业", "物流"},
	{"产品兴趣", "基础版"}, {"产品兴趣", "专业版"}, {"产品兴趣", "企业版"}, {"产品兴趣", "私有化部署"},
	{"产品兴趣", "培训服务"}, {"产品兴趣", "定制开发"},
	{"地区", "华南"}, {"地区", "华东"}, {"地区", "华北"}, {"地区", "西南"}, {"地区", "华中"},
	{"地区", "西北"}, {"地区", "东北"},
	{"其他", "价格敏感"}, {"其他", "决策人"}, {"其他", "老客户"}, {"其他", "已到店"}, {"其他", "待回访"},
	{"其他", "投诉过"}, {"其他", "复购客户"}, {"其他", "大客户"}, {"其他", "沉睡客户"}, {"其他", "新客户"},
}

// The enumerations below pair values with relative weights.

// addWays are WeCom add_way codes: 1 contact-me QR code, 16 acquisition
// link, 2 phone search, 3 business card, 4 group chat, 6 WeChat contacts,
// 202 assigned by an admin, 0 unknown.
var addWays = newChoice(
	weighted[int64]{1, 34}, weighted[int64]{16, 20}, weighted[int64]{2, 10}, weighted[int64]{3, 8},
	weighted[int64]{4, 9}, weighted[int64]{6, 6}, weighted[int64]{202, 5}, weighted[int64]{0, 8},
)

var msgTypes = newChoice(
	weighted[string]{"text", 78}, weighted[string]{"image", 9}, weighted[string]{"voice", 4},
	weighted[string]{"emotion", 3}, weighted[string]{"link", 3}, weighted[string]{"file", 2},
	weighted[string]{"miniprogram", 1},
)

var followupChannels = newChoice(
	weighted[string]{"wechat", 50}, weighted[string]{"call", 30}, weighted[string]{"visit", 8},
	weighted[string]{"meeting", 7}, weighted[string]{"other", 5},
)

var genders = newChoice(weighted[int64]{0, 15}, weighted[int64]{1, 40}, weighted[int64]{2, 45})
