//! Transit of the demo city: two rail stations at their real places, three
//! synthetic metro lines and a BRT corridor along plausible axes, and about
//! a hundred bus stops spread with housing, named after invented estates.
//!
//! The metro is laid out so that a planner has something to find: line 1
//! runs east–west along Jingshi Road into the software park, line 2 runs
//! north–south through Jinan Station to the vehicle park across the river,
//! line 3 goes from Longdong through Hongjialou to the airport; none comes
//! near the innovation valley (济南创新谷), the park with the youngest
//! workforce. Positions are fixed (GCJ-02); bus stops vary with the seed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::geography::Micro;
use super::rng::Rng;
use super::writer::{CsvOut, Num};
use super::{City, GenerateError};
use crate::model::StationMode;

const RAIL: &[(&str, f64, f64)] = &[("济南站", 116.990, 36.670), ("济南西站", 116.889, 36.669)];

const METRO_1: &[(&str, f64, f64)] = &[
    ("济南西站", 116.891, 36.667),
    ("腊山站", 116.905, 36.662),
    ("张庄路站", 116.920, 36.660),
    ("党杨路站", 116.933, 36.656),
    ("刘长山路站", 116.946, 36.652),
    ("七里山站", 116.958, 36.651),
    ("段店站", 116.968, 36.655),
    ("经七纬二站", 116.982, 36.659),
    ("大观园站", 116.994, 36.661),
    ("趵突泉站", 117.008, 36.662),
    ("泉城广场站", 117.021, 36.662),
    ("文化西路站", 117.033, 36.658),
    ("省立医院站", 117.045, 36.656),
    ("山大路站", 117.058, 36.657),
    ("燕山立交站", 117.071, 36.656),
    ("姚家站", 117.085, 36.656),
    ("奥体西路站", 117.099, 36.656),
    ("奥体中心站", 117.113, 36.657),
    ("舜华路站", 117.121, 36.665),
    ("齐鲁软件园站", 117.122, 36.677),
    ("新泺大街站", 117.124, 36.688),
];

const METRO_2: &[(&str, f64, f64)] = &[
    ("党家站", 116.986, 36.566),
    ("兴隆站", 116.992, 36.585),
    ("英雄山站", 117.000, 36.603),
    ("二七新村站", 117.002, 36.620),
    ("经十一路站", 117.000, 36.638),
    ("大观园站", 116.994, 36.661),
    ("经一路站", 116.992, 36.667),
    ("济南站", 116.990, 36.673),
    ("天桥站", 116.992, 36.684),
    ("北园站", 116.993, 36.694),
    ("无影山站", 116.990, 36.705),
    ("药山站", 116.987, 36.718),
    ("泺口站", 117.003, 36.732),
    ("鹊山站", 117.008, 36.752),
    ("桑梓店站", 117.012, 36.770),
    ("起步区站", 117.017, 36.785),
    ("新能源汽车产业园站", 117.022, 36.800),
];

const METRO_3: &[(&str, f64, f64)] = &[
    ("龙洞站", 117.085, 36.615),
    ("燕子山站", 117.076, 36.635),
    ("燕山立交站", 117.071, 36.656),
    ("山东大学站", 117.066, 36.672),
    ("洪家楼站", 117.070, 36.686),
    ("七里河站", 117.082, 36.699),
    ("工业北路站", 117.098, 36.706),
    ("王舍人站", 117.122, 36.715),
    ("大辛庄站", 117.140, 36.731),
    ("董家站", 117.153, 36.750),
    ("鲍山站", 117.163, 36.770),
    ("黄河北站", 117.175, 36.795),
    ("遥墙站", 117.198, 36.815),
    ("临空经济区站", 117.226, 36.832),
    ("遥墙机场站", 117.218, 36.856),
];

const BRT: &[(&str, f64, f64)] = &[
    ("二环西路站", 116.935, 36.689),
    ("堤口路站", 116.950, 36.690),
    ("无影山路站", 116.966, 36.691),
    ("济泺路站", 116.980, 36.692),
    ("北园站", 116.995, 36.693),
    ("历山北路站", 117.012, 36.693),
    ("花园路站", 117.030, 36.692),
    ("洪家楼北站", 117.048, 36.691),
    ("二环东路站", 117.064, 36.690),
    ("华信路站", 117.080, 36.690),
    ("全福立交站", 117.095, 36.689),
    ("工业北路东站", 117.112, 36.688),
];

/// Bus stops are named after invented estates and villages (a real road
/// name at a random spot would mislead anyone who knows the city).
const STOP_FIRST: &[(&str, &str)] = &[
    ("锦", "Jin"),
    ("华", "Hua"),
    ("泰", "Tai"),
    ("康", "Kang"),
    ("和", "He"),
    ("盛", "Sheng"),
    ("兴", "Xing"),
    ("福", "Fu"),
    ("安", "An"),
    ("润", "Run"),
    ("丰", "Feng"),
    ("祥", "Xiang"),
    ("瑞", "Rui"),
    ("嘉", "Jia"),
    ("宏", "Hong"),
    ("明", "Ming"),
    ("新", "Xin"),
    ("永", "Yong"),
    ("恒", "Heng"),
    ("昌", "Chang"),
    ("东", "Dong"),
    ("西", "Xi"),
    ("南", "Nan"),
    ("北", "Bei"),
    ("金", "Jin"),
    ("玉", "Yu"),
    ("青", "Qing"),
    ("绿", "Lü"),
    ("桃", "Tao"),
    ("柳", "Liu"),
];
const STOP_SECOND: &[(&str, &str)] = &[
    ("苑", "yuan"),
    ("园", "yuan"),
    ("城", "cheng"),
    ("庄", "zhuang"),
    ("泉", "quan"),
    ("河", "he"),
    ("湖", "hu"),
    ("山", "shan"),
    ("林", "lin"),
    ("桥", "qiao"),
    ("家", "jia"),
    ("里", "li"),
    ("阳", "yang"),
    ("源", "yuan"),
    ("岭", "ling"),
    ("台", "tai"),
    ("湾", "wan"),
    ("坊", "fang"),
    ("屯", "tun"),
    ("营", "ying"),
];
const STOP_SUFFIXES: &[(&str, &str)] = &[
    ("小区", "Estate"),
    ("花园", "Garden"),
    ("新村", "New Village"),
    ("社区", "Community"),
    ("村", "Village"),
    ("路口", "Crossing"),
    ("东站", "East"),
    ("西站", "West"),
    ("北站", "North"),
    ("南站", "South"),
];

/// Number of bus stops.
const BUS_STOPS: usize = 100;

/// Writes `stations.csv`.
pub fn write_stations(city: &City, rng: &mut Rng, dir: &Path) -> Result<(PathBuf, usize), GenerateError> {
    let mut out = CsvOut::create(dir, "stations.csv", &["id", "name", "lon", "lat", "mode", "name_en"])?;
    let mut n = 0u64;
    let mut row =
        |out: &mut CsvOut, name: &str, name_en: &str, m: Micro, mode: StationMode| -> Result<(), GenerateError> {
            n += 1;
            out.field(Num::id("S", n, 3).as_bytes())?;
            out.field(name.as_bytes())?;
            out.point(Some(m))?;
            out.field(mode.code().as_bytes())?;
            out.field(name_en.as_bytes())?;
            out.end_row()
        };
    for &(name, lon, lat) in RAIL {
        row(&mut out, name, super::english::place(name), Micro::from_deg(lon, lat), StationMode::Rail)?;
    }
    for line in [METRO_1, METRO_2, METRO_3] {
        for &(name, lon, lat) in line {
            row(&mut out, name, super::english::place(name), Micro::from_deg(lon, lat), StationMode::Metro)?;
        }
    }
    for &(name, lon, lat) in BRT {
        row(&mut out, name, super::english::place(name), Micro::from_deg(lon, lat), StationMode::Brt)?;
    }
    let mut names = HashSet::new();
    for _ in 0..BUS_STOPS {
        let (m, _) = city.grid.sample_home(rng, &city.districts);
        let (name, name_en) = loop {
            let (first, second, suffix) = (rng.pick(STOP_FIRST), rng.pick(STOP_SECOND), rng.pick(STOP_SUFFIXES));
            let name = format!("{}{}{}", first.0, second.0, suffix.0);
            if names.insert(name.clone()) {
                break (name, format!("{}{} {}", first.1, second.1, suffix.1));
            }
        };
        row(&mut out, &name, &name_en, m, StationMode::Bus)?;
    }
    out.finish()
}
