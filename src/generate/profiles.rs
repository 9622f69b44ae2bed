//! Who works where: the statistical profiles that make the demo city
//! plausible to someone who knows a Chinese city's labour market.
//!
//! Industry divisions (GB/T 4754-2017) are grouped into sectors with shared
//! traits: which disciplines (一级学科) their staff studied, the education
//! mix, typical age, how often staff hold professional titles (职称), how
//! many employees a firm has and what share of them a talent database
//! records. Each location kind (park, centre, county) has its own industry
//! mix. Numbers are judgement calls shaped after public statistics (e.g.
//! software firms are young and degree-heavy, manufacturing has more
//! associate degrees, research institutes many doctorates); they are not
//! measurements.
//!
//! Codes are written as strings here and checked against
//! `Taxonomy::builtin()` when the generator starts.

use super::GenerateError;
use super::parks::ParkKind;
use super::rng::{Rng, Weighted};
use crate::model::Taxonomy;

/// Sector of an industry division, as far as the generator cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sector {
    Software,
    Electronics,
    Pharma,
    Machinery,
    Vehicles,
    Electrical,
    Materials,
    LightIndustry,
    Energy,
    Construction,
    Trade,
    Logistics,
    Hospitality,
    Finance,
    RealEstate,
    Business,
    Research,
    Environment,
    ResidentServices,
    Education,
    Health,
    Culture,
    Agriculture,
    Mining,
}

impl Sector {
    /// The sector of a two-digit division code.
    pub fn of_division(code: &str) -> Sector {
        let n: u32 = code.parse().unwrap_or(0);
        match n {
            1..=5 => Sector::Agriculture,
            6..=12 => Sector::Mining,
            13..=24 | 41 | 42 => Sector::LightIndustry,
            27 => Sector::Pharma,
            25..=33 => Sector::Materials,
            34 | 35 | 37 | 43 => Sector::Machinery,
            36 => Sector::Vehicles,
            38 => Sector::Electrical,
            39 | 40 => Sector::Electronics,
            44..=46 => Sector::Energy,
            47..=50 => Sector::Construction,
            51 | 52 => Sector::Trade,
            53..=60 => Sector::Logistics,
            61 | 62 => Sector::Hospitality,
            63..=65 => Sector::Software,
            66..=69 => Sector::Finance,
            70 => Sector::RealEstate,
            71 | 72 => Sector::Business,
            73..=75 => Sector::Research,
            76..=79 => Sector::Environment,
            80..=82 => Sector::ResidentServices,
            83 => Sector::Education,
            84 | 85 => Sector::Health,
            86..=90 => Sector::Culture,
            _ => Sector::Business,
        }
    }

    pub fn profile(self) -> &'static SectorProfile {
        match self {
            Sector::Software => &SOFTWARE,
            Sector::Electronics => &ELECTRONICS,
            Sector::Pharma => &PHARMA,
            Sector::Machinery => &MACHINERY,
            Sector::Vehicles => &VEHICLES,
            Sector::Electrical => &ELECTRICAL,
            Sector::Materials => &MATERIALS,
            Sector::LightIndustry => &LIGHT_INDUSTRY,
            Sector::Energy => &ENERGY,
            Sector::Construction => &CONSTRUCTION,
            Sector::Trade => &TRADE,
            Sector::Logistics => &LOGISTICS,
            Sector::Hospitality => &HOSPITALITY,
            Sector::Finance => &FINANCE,
            Sector::RealEstate => &REAL_ESTATE,
            Sector::Business => &BUSINESS,
            Sector::Research => &RESEARCH,
            Sector::Environment => &ENVIRONMENT,
            Sector::ResidentServices => &RESIDENT_SERVICES,
            Sector::Education => &EDUCATION,
            Sector::Health => &HEALTH,
            Sector::Culture => &CULTURE,
            Sector::Agriculture => &AGRICULTURE,
            Sector::Mining => &MINING,
        }
    }
}

/// Traits of the people and firms of one sector.
#[derive(Debug)]
pub struct SectorProfile {
    /// Disciplines of staff, weighted.
    pub fields: &'static [(&'static str, f64)],
    /// Shares of associate, bachelor, master, doctorate.
    pub education: [f64; 4],
    /// Median years above 22 of staff age.
    pub age_median: f64,
    /// Share of staff who ever obtain a professional title.
    pub title_rate: f64,
    /// Share of employees recorded in the talent database.
    pub intensity: f64,
    /// Median employees of a firm.
    pub size: f64,
    /// Words that describe the business in a company name.
    pub name_words: &'static [&'static str],
}

macro_rules! profile {
    ($name:ident, fields: $f:expr, education: $e:expr, age: $a:expr, titles: $t:expr, intensity: $i:expr, size: $s:expr, words: $w:expr) => {
        static $name: SectorProfile =
            SectorProfile { fields: $f, education: $e, age_median: $a, title_rate: $t, intensity: $i, size: $s, name_words: $w };
    };
}

profile!(SOFTWARE,
    fields: &[("0812", 30.0), ("0835", 22.0), ("0810", 10.0), ("1405", 6.0), ("0839", 5.0), ("0811", 4.0), ("0701", 3.0), ("0714", 3.0), ("1201", 4.0), ("1202", 4.0), ("1403", 4.0), ("0809", 3.0), ("1401", 1.0), ("0502", 1.0)],
    education: [0.12, 0.60, 0.25, 0.03], age: 6.5, titles: 0.30, intensity: 0.85, size: 30.0,
    words: &["软件科技", "信息技术", "网络科技", "数据科技", "智能科技", "数字科技", "云计算科技", "信息科技"]);
profile!(ELECTRONICS,
    fields: &[("0809", 20.0), ("0810", 15.0), ("1401", 6.0), ("0812", 10.0), ("0808", 10.0), ("0802", 10.0), ("0804", 8.0), ("0803", 6.0), ("0811", 6.0), ("1202", 4.0)],
    education: [0.30, 0.48, 0.19, 0.03], age: 9.0, titles: 0.50, intensity: 0.50, size: 80.0,
    words: &["电子科技", "光电科技", "半导体", "微电子科技", "通信设备", "仪器仪表", "电子"]);
profile!(PHARMA,
    fields: &[("1007", 28.0), ("1008", 12.0), ("0710", 10.0), ("0703", 12.0), ("0817", 12.0), ("0836", 8.0), ("1001", 4.0), ("1004", 3.0), ("1202", 5.0), ("0831", 3.0)],
    education: [0.25, 0.42, 0.26, 0.07], age: 10.0, titles: 0.65, intensity: 0.55, size: 90.0,
    words: &["医药", "药业", "制药", "生物医药科技", "生物科技", "医药科技", "生物工程"]);
profile!(MACHINERY,
    fields: &[("0802", 35.0), ("0811", 10.0), ("0808", 10.0), ("0804", 6.0), ("0801", 4.0), ("0805", 5.0), ("0807", 6.0), ("1202", 5.0), ("0831", 4.0), ("1201", 4.0), ("0825", 2.0)],
    education: [0.42, 0.44, 0.12, 0.02], age: 14.0, titles: 0.60, intensity: 0.35, size: 70.0,
    words: &["机械", "重工", "装备制造", "精密机械", "数控设备", "医疗器械", "机床", "智能装备"]);
profile!(VEHICLES,
    fields: &[("0802", 30.0), ("0808", 20.0), ("0823", 15.0), ("0807", 8.0), ("0811", 8.0), ("0805", 6.0), ("0812", 5.0), ("1403", 3.0), ("1202", 4.0)],
    education: [0.45, 0.42, 0.11, 0.02], age: 12.0, titles: 0.55, intensity: 0.30, size: 150.0,
    words: &["汽车", "新能源汽车", "汽车零部件", "车辆科技", "汽车配件", "动力科技"]);
profile!(ELECTRICAL,
    fields: &[("0808", 35.0), ("0802", 15.0), ("0807", 10.0), ("0805", 8.0), ("0703", 5.0), ("0811", 10.0), ("0809", 7.0)],
    education: [0.38, 0.46, 0.14, 0.02], age: 11.0, titles: 0.60, intensity: 0.35, size: 80.0,
    words: &["电气", "新能源科技", "电池科技", "电力设备", "电机", "储能科技", "电器"]);
profile!(MATERIALS,
    fields: &[("0805", 30.0), ("0703", 18.0), ("0817", 18.0), ("0806", 10.0), ("0802", 8.0), ("0830", 6.0), ("0837", 4.0), ("1202", 3.0)],
    education: [0.40, 0.43, 0.14, 0.03], age: 14.0, titles: 0.60, intensity: 0.30, size: 60.0,
    words: &["新材料", "化工", "材料科技", "精细化工", "铝业", "建材", "金属制品", "塑胶", "特种材料"]);
profile!(LIGHT_INDUSTRY,
    fields: &[("0832", 30.0), ("0822", 15.0), ("0802", 12.0), ("0710", 8.0), ("1202", 12.0), ("0821", 5.0), ("1403", 6.0), ("0703", 5.0)],
    education: [0.55, 0.38, 0.06, 0.01], age: 15.0, titles: 0.35, intensity: 0.15, size: 40.0,
    words: &["食品", "饮品", "酿造", "纺织", "家居", "包装", "印务", "服饰"]);
profile!(ENERGY,
    fields: &[("0807", 30.0), ("0808", 35.0), ("0830", 10.0), ("0815", 8.0), ("0802", 10.0)],
    education: [0.30, 0.55, 0.13, 0.02], age: 14.0, titles: 0.70, intensity: 0.45, size: 120.0,
    words: &["能源", "热力", "燃气", "电力", "水务", "新能源"]);
profile!(CONSTRUCTION,
    fields: &[("0814", 40.0), ("0813", 15.0), ("0833", 8.0), ("0816", 6.0), ("0815", 6.0), ("1201", 10.0), ("0830", 5.0), ("0802", 5.0)],
    education: [0.40, 0.50, 0.09, 0.01], age: 14.0, titles: 0.75, intensity: 0.35, size: 60.0,
    words: &["建设工程", "建筑工程", "路桥工程", "装饰工程", "建工", "安装工程"]);
profile!(TRADE,
    fields: &[("1202", 35.0), ("0202", 15.0), ("0502", 8.0), ("0501", 5.0), ("1201", 8.0), ("0812", 5.0), ("0832", 4.0), ("1007", 4.0), ("1403", 5.0), ("0301", 3.0)],
    education: [0.48, 0.45, 0.065, 0.005], age: 11.0, titles: 0.25, intensity: 0.20, size: 15.0,
    words: &["商贸", "贸易", "商业", "供应链管理", "电子商务", "百货", "进出口"]);
profile!(LOGISTICS,
    fields: &[("0823", 30.0), ("1201", 20.0), ("1202", 20.0), ("0202", 8.0), ("0812", 6.0), ("0825", 6.0), ("0502", 5.0)],
    education: [0.52, 0.42, 0.055, 0.005], age: 12.0, titles: 0.30, intensity: 0.15, size: 30.0,
    words: &["物流", "供应链", "运输", "国际货运代理", "仓储", "速运", "航空服务"]);
profile!(HOSPITALITY,
    fields: &[("1202", 40.0), ("0502", 15.0), ("0832", 15.0), ("0501", 10.0), ("1301", 5.0)],
    education: [0.62, 0.35, 0.03, 0.0], age: 9.0, titles: 0.15, intensity: 0.08, size: 20.0,
    words: &["餐饮管理", "酒店管理", "餐饮服务", "酒店"]);
profile!(FINANCE,
    fields: &[("0202", 35.0), ("1202", 18.0), ("0714", 10.0), ("0201", 6.0), ("0701", 6.0), ("0301", 8.0), ("0812", 8.0), ("1201", 5.0)],
    education: [0.06, 0.56, 0.35, 0.03], age: 10.0, titles: 0.45, intensity: 0.80, size: 40.0,
    words: &["投资", "融资租赁", "资产管理", "保险代理", "金融服务", "基金管理", "担保", "财富管理"]);
profile!(REAL_ESTATE,
    fields: &[("1202", 30.0), ("0813", 15.0), ("0814", 15.0), ("0833", 10.0), ("0202", 10.0), ("0301", 6.0), ("1403", 5.0)],
    education: [0.30, 0.58, 0.11, 0.01], age: 11.0, titles: 0.40, intensity: 0.35, size: 25.0,
    words: &["置业", "房地产开发", "物业管理", "地产"]);
profile!(BUSINESS,
    fields: &[("1202", 25.0), ("0301", 15.0), ("0202", 12.0), ("0503", 8.0), ("1403", 8.0), ("0501", 6.0), ("0502", 6.0), ("1201", 8.0), ("0402", 4.0), ("1204", 4.0)],
    education: [0.25, 0.58, 0.16, 0.01], age: 9.0, titles: 0.35, intensity: 0.50, size: 12.0,
    words: &["企业管理咨询", "人力资源", "广告传媒", "会展服务", "商务咨询", "知识产权代理", "咨询"]);
profile!(RESEARCH,
    fields: &[("0710", 10.0), ("0703", 10.0), ("0812", 10.0), ("0805", 8.0), ("0802", 8.0), ("1007", 6.0), ("0702", 6.0), ("0701", 4.0), ("1405", 5.0), ("0836", 4.0), ("0830", 6.0), ("0831", 4.0), ("1401", 3.0), ("0809", 4.0), ("0816", 4.0), ("1404", 2.0), ("1406", 2.0)],
    education: [0.05, 0.33, 0.44, 0.18], age: 11.0, titles: 0.90, intensity: 0.90, size: 25.0,
    words: &["检测技术", "科技发展", "技术研究院", "工程技术", "科技服务", "质量检测", "技术转移"]);
profile!(ENVIRONMENT,
    fields: &[("0830", 30.0), ("0713", 15.0), ("0815", 15.0), ("0833", 15.0), ("0705", 10.0), ("1204", 10.0)],
    education: [0.25, 0.55, 0.18, 0.02], age: 13.0, titles: 0.70, intensity: 0.45, size: 30.0,
    words: &["环保科技", "环境工程", "园林绿化", "市政工程", "生态科技"]);
profile!(RESIDENT_SERVICES,
    fields: &[("1202", 30.0), ("0402", 10.0), ("1011", 10.0), ("0832", 10.0), ("0802", 10.0), ("1403", 10.0)],
    education: [0.60, 0.37, 0.03, 0.0], age: 12.0, titles: 0.20, intensity: 0.10, size: 12.0,
    words: &["家政服务", "养老服务", "汽车维修", "生活服务"]);
profile!(EDUCATION,
    fields: &[("0401", 25.0), ("0501", 12.0), ("0701", 10.0), ("0502", 10.0), ("0402", 8.0), ("0403", 6.0), ("0702", 5.0), ("0703", 5.0), ("0812", 5.0), ("1301", 6.0), ("0602", 4.0)],
    education: [0.08, 0.52, 0.32, 0.08], age: 14.0, titles: 0.90, intensity: 0.85, size: 40.0,
    words: &["教育科技", "教育咨询", "职业培训", "文化教育"]);
profile!(HEALTH,
    fields: &[("1002", 40.0), ("1011", 25.0), ("1007", 8.0), ("1005", 8.0), ("1003", 5.0), ("1004", 6.0), ("1001", 3.0), ("0831", 3.0), ("1006", 2.0)],
    education: [0.28, 0.45, 0.20, 0.07], age: 13.0, titles: 0.95, intensity: 0.70, size: 60.0,
    words: &["健康管理", "医疗管理", "康复医疗", "医疗科技", "口腔医疗"]);
profile!(CULTURE,
    fields: &[("0503", 25.0), ("1301", 25.0), ("0501", 15.0), ("1403", 12.0), ("0403", 8.0), ("1202", 8.0)],
    education: [0.25, 0.60, 0.14, 0.01], age: 9.0, titles: 0.45, intensity: 0.45, size: 15.0,
    words: &["文化传媒", "影视", "文化传播", "体育发展", "文化艺术"]);
profile!(AGRICULTURE,
    fields: &[("0901", 25.0), ("0902", 15.0), ("0905", 15.0), ("0906", 8.0), ("1203", 15.0), ("0710", 8.0), ("0828", 6.0), ("0907", 5.0), ("0908", 3.0)],
    education: [0.45, 0.42, 0.11, 0.02], age: 17.0, titles: 0.60, intensity: 0.15, size: 20.0,
    words: &["农业科技", "生态农业", "种业", "畜牧", "农产品"]);
profile!(MINING,
    fields: &[("0819", 30.0), ("0818", 25.0), ("0709", 20.0), ("0802", 10.0), ("0837", 10.0)],
    education: [0.45, 0.45, 0.09, 0.01], age: 17.0, titles: 0.65, intensity: 0.25, size: 60.0,
    words: &["矿业", "石材", "矿产"]);

/// Disciplines of people not in work (recent graduates, career breaks):
/// heavy in subjects the local market has too many of.
pub const GRADUATE_FIELDS: &[(&str, f64)] = &[
    ("1202", 14.0),
    ("0501", 8.0),
    ("0502", 8.0),
    ("0301", 8.0),
    ("0401", 6.0),
    ("1204", 7.0),
    ("0202", 8.0),
    ("0503", 5.0),
    ("1301", 6.0),
    ("1403", 5.0),
    ("0812", 4.0),
    ("0814", 4.0),
    ("0802", 2.5),
    ("0703", 3.0),
    ("0710", 3.0),
    ("0701", 3.0),
    ("0303", 2.0),
    ("0402", 2.0),
    ("1011", 3.0),
    ("1201", 3.0),
    ("0835", 1.0),
    ("1007", 0.8),
    ("0602", 1.0),
    ("0305", 1.0),
    ("0832", 1.5),
    ("0830", 1.5),
    ("1002", 1.0),
    ("0901", 1.0),
];
/// Education mix of people not in work.
pub const GRADUATE_EDUCATION: [f64; 4] = [0.30, 0.55, 0.13, 0.02];
/// Median years above 22 of people not in work.
pub const GRADUATE_AGE_MEDIAN: f64 = 4.0;
pub const GRADUATE_TITLE_RATE: f64 = 0.2;

/// How much more (or less) employers ask for a discipline than its share
/// among their staff: the scarcities of the demo city. Fields not listed
/// keep their staff share.
pub const DEMAND_FACTOR: &[(&str, f64)] = &[
    ("1401", 6.0), // integrated circuits: hardly any graduates yet
    ("1405", 5.0), // AI
    ("0839", 3.0), // cyber security
    ("1007", 3.0), // pharmacy
    ("0812", 3.0),
    ("0835", 2.0),
    ("0809", 2.0),
    ("0802", 1.6), // mechanical engineering, mostly at master level (see below)
    ("0808", 1.5),
    ("0805", 1.5),
    ("0202", 0.5),
    ("0501", 0.25),
    ("0502", 0.25),
    ("0301", 0.25),
    ("1202", 0.25),
    ("0401", 0.25),
    ("1204", 0.25),
    ("0503", 0.25),
    ("1301", 0.25),
    ("0303", 0.25),
    ("0402", 0.25),
    ("1403", 0.3),
];

/// Disciplines whose vacancies ask for a higher degree than staff hold, with
/// the chance to raise the level by one.
pub const DEMAND_UPGRADE: &[(&str, f64)] =
    &[("0802", 0.45), ("1401", 0.4), ("1405", 0.4), ("1007", 0.3), ("0812", 0.2), ("0809", 0.3)];

/// Industry mix (division code, weight) of a park kind.
pub fn park_industries(kind: ParkKind) -> &'static [(&'static str, f64)] {
    match kind {
        ParkKind::Software => {
            &[("65", 50.0), ("64", 18.0), ("63", 7.0), ("39", 8.0), ("73", 6.0), ("74", 5.0), ("72", 4.0), ("75", 2.0)]
        }
        ParkKind::InnovationValley => {
            &[("65", 40.0), ("64", 20.0), ("39", 14.0), ("73", 12.0), ("75", 6.0), ("74", 5.0), ("40", 3.0)]
        }
        ParkKind::Pharma => {
            &[("27", 42.0), ("35", 15.0), ("73", 20.0), ("74", 8.0), ("51", 8.0), ("84", 3.0), ("75", 4.0)]
        }
        ParkKind::Materials => {
            &[("26", 28.0), ("30", 18.0), ("32", 14.0), ("33", 20.0), ("29", 12.0), ("28", 4.0), ("74", 4.0)]
        }
        ParkKind::DevelopmentZone => &[
            ("34", 22.0),
            ("35", 14.0),
            ("33", 12.0),
            ("38", 12.0),
            ("36", 8.0),
            ("13", 8.0),
            ("30", 8.0),
            ("26", 6.0),
            ("59", 5.0),
            ("14", 5.0),
        ],
        ParkKind::Airport => {
            &[("56", 22.0), ("58", 28.0), ("59", 24.0), ("60", 10.0), ("54", 8.0), ("37", 5.0), ("51", 3.0)]
        }
        ParkKind::Bonded => &[("39", 34.0), ("51", 28.0), ("59", 18.0), ("58", 10.0), ("40", 6.0), ("27", 4.0)],
        ParkKind::Vehicles => &[("36", 55.0), ("38", 28.0), ("34", 9.0), ("33", 5.0), ("29", 3.0)],
    }
}

/// Industry mix of the urban centre: services, finance, trade, public
/// services, headquarters.
pub const CENTRE_INDUSTRIES: &[(&str, f64)] = &[
    ("66", 6.0),
    ("67", 3.0),
    ("68", 4.0),
    ("69", 4.0),
    ("70", 8.0),
    ("72", 14.0),
    ("51", 11.0),
    ("52", 12.0),
    ("83", 4.0),
    ("84", 5.0),
    ("85", 1.0),
    ("65", 8.0),
    ("64", 3.0),
    ("74", 5.0),
    ("73", 2.0),
    ("75", 1.0),
    ("47", 3.0),
    ("48", 2.0),
    ("50", 2.0),
    ("61", 2.0),
    ("62", 3.0),
    ("86", 1.0),
    ("87", 1.0),
    ("88", 1.0),
    ("80", 2.0),
    ("71", 1.0),
    ("54", 1.0),
    ("44", 1.0),
    ("78", 1.0),
    ("77", 1.0),
];

/// Industry mix of the outlying counties: food, farming, building
/// materials, small machinery, local trade.
pub const COUNTY_INDUSTRIES: &[(&str, f64)] = &[
    ("13", 12.0),
    ("14", 7.0),
    ("15", 4.0),
    ("17", 3.0),
    ("21", 3.0),
    ("01", 7.0),
    ("03", 4.0),
    ("05", 3.0),
    ("30", 7.0),
    ("33", 7.0),
    ("34", 7.0),
    ("26", 4.0),
    ("29", 3.0),
    ("52", 10.0),
    ("51", 6.0),
    ("47", 6.0),
    ("62", 4.0),
    ("84", 3.0),
    ("59", 2.0),
    ("10", 2.0),
    ("83", 2.0),
];

/// Cities people leave for, weighted.
pub const DESTINATIONS: &[(&str, f64)] = &[
    ("北京", 18.0),
    ("上海", 15.0),
    ("青岛", 14.0),
    ("杭州", 10.0),
    ("深圳", 10.0),
    ("广州", 6.0),
    ("南京", 6.0),
    ("苏州", 5.0),
    ("天津", 4.0),
    ("烟台", 3.0),
    ("潍坊", 3.0),
    ("成都", 3.0),
    ("武汉", 3.0),
    ("西安", 2.0),
    ("淄博", 2.0),
    ("临沂", 2.0),
    ("郑州", 2.0),
];

/// First and second characters of company brand names (字号).
pub const BRAND_FIRST: &[&str] = &[
    "华", "瑞", "泰", "鼎", "恒", "盛", "博", "新", "金", "天", "中", "海", "宏", "嘉", "正", "明", "康", "德", "安",
    "信", "诚", "远", "光", "汇", "联", "通", "达", "益", "国", "科", "智", "云", "鲁", "泉", "舜", "齐", "岱", "东",
    "方", "永", "昌", "兴", "隆", "润", "丰", "创", "峰", "睿", "卓", "航", "凯", "源", "锦", "元", "和", "晟", "鑫",
    "辰", "星", "浩",
];
pub const BRAND_SECOND: &[&str] = &[
    "信", "达", "通", "泰", "源", "邦", "捷", "诚", "瑞", "盛", "华", "宇", "航", "晟", "鑫", "辉", "力", "安", "和",
    "康", "博", "联", "创", "智", "汇", "远", "丰", "祥", "隆", "兴", "成", "方", "科", "润", "峰", "腾", "威", "德",
    "明", "辰",
];

/// Short names of the counties, used as company name prefixes there.
pub const COUNTY_PREFIXES: &[(&str, &str)] =
    &[("370124", "平阴"), ("370125", "济阳"), ("370126", "商河"), ("370181", "章丘"), ("370113", "长清")];

impl Sector {
    /// Every sector, in declaration order (`sector as usize` indexes this).
    pub const ALL: [Sector; 24] = [
        Sector::Software,
        Sector::Electronics,
        Sector::Pharma,
        Sector::Machinery,
        Sector::Vehicles,
        Sector::Electrical,
        Sector::Materials,
        Sector::LightIndustry,
        Sector::Energy,
        Sector::Construction,
        Sector::Trade,
        Sector::Logistics,
        Sector::Hospitality,
        Sector::Finance,
        Sector::RealEstate,
        Sector::Business,
        Sector::Research,
        Sector::Environment,
        Sector::ResidentServices,
        Sector::Education,
        Sector::Health,
        Sector::Culture,
        Sector::Agriculture,
        Sector::Mining,
    ];
}

/// A weighted choice among codes.
pub struct Mix {
    codes: Vec<&'static str>,
    weights: Weighted,
}

impl Mix {
    pub fn sample(&self, rng: &mut Rng) -> &'static str {
        self.codes[self.weights.sample(rng)]
    }
}

/// The code tables the generator writes, checked against the taxonomy.
pub struct Codes {
    taxonomy: Taxonomy,
}

impl Codes {
    /// Checks every code used by the profiles against `Taxonomy::builtin()`.
    pub fn new() -> Result<Codes, GenerateError> {
        let codes = Codes { taxonomy: Taxonomy::builtin() };
        let mut tables: Vec<&[(&str, f64)]> =
            vec![CENTRE_INDUSTRIES, COUNTY_INDUSTRIES, GRADUATE_FIELDS, DEMAND_FACTOR, DEMAND_UPGRADE];
        tables.extend(Sector::ALL.iter().map(|s| s.profile().fields));
        for kind in [
            ParkKind::Software,
            ParkKind::InnovationValley,
            ParkKind::Pharma,
            ParkKind::Materials,
            ParkKind::DevelopmentZone,
            ParkKind::Airport,
            ParkKind::Bonded,
            ParkKind::Vehicles,
        ] {
            tables.push(park_industries(kind));
        }
        for table in tables {
            codes.mix(table)?;
        }
        Ok(codes)
    }

    /// A weighted choice over a table of division (2-digit) or discipline
    /// (4-digit) codes, each checked against the taxonomy.
    pub fn mix(&self, table: &[(&'static str, f64)]) -> Result<Mix, GenerateError> {
        for (code, _) in table {
            let known = match code.len() {
                2 => self.taxonomy.industry_index(code).is_some(),
                4 => self.taxonomy.field_index(code).is_some(),
                _ => false,
            };
            if !known {
                return Err(GenerateError::Taxonomy(format!("code '{code}' is not in the built-in code tables")));
            }
        }
        let weights = Weighted::new(table.iter().map(|(_, w)| *w))
            .ok_or_else(|| GenerateError::Taxonomy("a code table has no positive weight".into()))?;
        Ok(Mix { codes: table.iter().map(|(c, _)| *c).collect(), weights })
    }

    /// Whether a division belongs to one of the promoted industry chains.
    pub fn in_chain(&self, division: &str) -> bool {
        self.taxonomy.chains().iter().any(|c| c.divisions.iter().any(|d| d == division))
    }
}

/// Discipline mixes of staff (supply) and of vacancies (demand), per sector.
pub struct Staffing {
    pub staff: Vec<Mix>,
    pub demand: Vec<Mix>,
    pub graduates: Mix,
}

impl Staffing {
    pub fn new(codes: &Codes) -> Result<Staffing, GenerateError> {
        let factor = |code: &str| DEMAND_FACTOR.iter().find(|(c, _)| *c == code).map_or(1.0, |(_, f)| *f);
        let mut staff = Vec::new();
        let mut demand = Vec::new();
        for s in Sector::ALL {
            let fields = s.profile().fields;
            staff.push(codes.mix(fields)?);
            let boosted: Vec<(&'static str, f64)> = fields.iter().map(|&(c, w)| (c, w * factor(c))).collect();
            demand.push(codes.mix(&boosted)?);
        }
        Ok(Staffing { staff, demand, graduates: codes.mix(GRADUATE_FIELDS)? })
    }

    pub fn staff(&self, sector: Sector) -> &Mix {
        &self.staff[sector as usize]
    }

    pub fn demand(&self, sector: Sector) -> &Mix {
        &self.demand[sector as usize]
    }
}

/// How much a vacancy in `field` is demanded relative to staff share.
pub fn demand_factor(field: &str) -> f64 {
    DEMAND_FACTOR.iter().find(|(c, _)| *c == field).map_or(1.0, |(_, f)| *f)
}

/// Chance that a vacancy in `field` asks for one degree level more.
pub fn demand_upgrade(field: &str) -> f64 {
    DEMAND_UPGRADE.iter().find(|(c, _)| *c == field).map_or(0.0, |(_, p)| *p)
}
