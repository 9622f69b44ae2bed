//! English names of the demo city's places, for the map's labels in
//! English: the districts' and counties' usual English names (Jinan and
//! Hangzhou, as in the bundled boundary files), the parks' and the transit
//! stations' names in Hanyu Pinyin with English generic terms (Road,
//! Avenue, Interchange), as Chinese cities sign them. Bus stops named after
//! invented estates are romanised syllable by syllable.

/// Districts and counties, by their Chinese name.
const DISTRICTS: &[(&str, &str)] = &[
    ("历下区", "Lixia District"),
    ("市中区", "Shizhong District"),
    ("槐荫区", "Huaiyin District"),
    ("天桥区", "Tianqiao District"),
    ("历城区", "Licheng District"),
    ("长清区", "Changqing District"),
    ("章丘区", "Zhangqiu District"),
    ("济阳县", "Jiyang County"),
    ("济阳区", "Jiyang District"),
    ("商河县", "Shanghe County"),
    ("平阴县", "Pingyin County"),
    ("莱芜区", "Laiwu District"),
    ("钢城区", "Gangcheng District"),
    ("上城区", "Shangcheng District"),
    ("下城区", "Xiacheng District"),
    ("江干区", "Jianggan District"),
    ("拱墅区", "Gongshu District"),
    ("西湖区", "Xihu District"),
    ("滨江区", "Binjiang District"),
    ("萧山区", "Xiaoshan District"),
    ("余杭区", "Yuhang District"),
    ("富阳区", "Fuyang District"),
    ("临安市", "Lin'an City"),
    ("临安区", "Lin'an District"),
    ("桐庐县", "Tonglu County"),
    ("淳安县", "Chun'an County"),
    ("建德市", "Jiande City"),
];

/// Places that name parks and stations (a station is named after its
/// place, without 站 "station").
const PLACES: &[(&str, &str)] = &[
    ("齐鲁软件园", "Qilu Software Park"),
    ("济南创新谷", "Jinan Innovation Valley"),
    ("济南药谷", "Jinan Pharma Valley"),
    ("新材料产业园", "New Materials Industrial Park"),
    ("明水经济开发区", "Mingshui Economic Development Zone"),
    ("临空经济区", "Airport Economic Zone"),
    ("济南综合保税区", "Jinan Comprehensive Bonded Zone"),
    ("新能源汽车产业园", "New Energy Vehicle Industrial Park"),
    ("济南", "Jinan Railway Station"),
    ("济南西", "Jinan West Railway Station"),
    ("腊山", "Lashan"),
    ("张庄路", "Zhangzhuang Road"),
    ("党杨路", "Dangyang Road"),
    ("刘长山路", "Liuchangshan Road"),
    ("七里山", "Qilishan"),
    ("段店", "Duandian"),
    ("经七纬二", "Jingqi Weier"),
    ("大观园", "Daguanyuan"),
    ("趵突泉", "Baotu Spring"),
    ("泉城广场", "Quancheng Square"),
    ("文化西路", "Wenhua West Road"),
    ("省立医院", "Provincial Hospital"),
    ("山大路", "Shanda Road"),
    ("燕山立交", "Yanshan Interchange"),
    ("姚家", "Yaojia"),
    ("奥体西路", "Aoti West Road"),
    ("奥体中心", "Olympic Sports Center"),
    ("舜华路", "Shunhua Road"),
    ("新泺大街", "Xinluo Avenue"),
    ("党家", "Dangjia"),
    ("兴隆", "Xinglong"),
    ("英雄山", "Yingxiongshan"),
    ("二七新村", "Erqi Xincun"),
    ("经十一路", "Jingshiyi Road"),
    ("经一路", "Jingyi Road"),
    ("天桥", "Tianqiao"),
    ("北园", "Beiyuan"),
    ("无影山", "Wuyingshan"),
    ("药山", "Yaoshan"),
    ("泺口", "Luokou"),
    ("鹊山", "Queshan"),
    ("桑梓店", "Sangzidian"),
    ("起步区", "Qibu District"),
    ("龙洞", "Longdong"),
    ("燕子山", "Yanzishan"),
    ("山东大学", "Shandong University"),
    ("洪家楼", "Hongjialou"),
    ("七里河", "Qilihe"),
    ("工业北路", "Gongye North Road"),
    ("王舍人", "Wangsheren"),
    ("大辛庄", "Daxinzhuang"),
    ("董家", "Dongjia"),
    ("鲍山", "Baoshan"),
    ("黄河北", "Huanghebei"),
    ("遥墙", "Yaoqiang"),
    ("遥墙机场", "Yaoqiang Airport"),
    ("二环西路", "West 2nd Ring Road"),
    ("堤口路", "Dikou Road"),
    ("无影山路", "Wuyingshan Road"),
    ("济泺路", "Jiluo Road"),
    ("历山北路", "Lishan North Road"),
    ("花园路", "Huayuan Road"),
    ("洪家楼北", "Hongjialou North"),
    ("二环东路", "East 2nd Ring Road"),
    ("华信路", "Huaxin Road"),
    ("全福立交", "Quanfu Interchange"),
    ("工业北路东", "Gongye North Road East"),
];

/// The English name of a district or county, empty when unknown.
pub fn district(name: &str) -> &'static str {
    DISTRICTS.iter().find(|(zh, _)| *zh == name).map_or("", |(_, en)| en)
}

/// The English name of a park or station (`…站`), empty when unknown.
pub fn place(name: &str) -> &'static str {
    let place = name.strip_suffix('站').unwrap_or(name);
    PLACES.iter().find(|(zh, _)| *zh == place).map_or("", |(_, en)| en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_with_or_without_the_station_suffix() {
        assert_eq!(district("历下区"), "Lixia District");
        assert_eq!(district("不存在区"), "");
        assert_eq!(place("齐鲁软件园"), "Qilu Software Park");
        assert_eq!(place("齐鲁软件园站"), "Qilu Software Park");
        assert_eq!(place("济南西站"), "Jinan West Railway Station");
        assert_eq!(place("不存在站"), "");
    }

    #[test]
    fn every_bundled_district_has_an_english_name() {
        for file in [
            include_str!("../../fixtures/regions/jinan_districts.geojson"),
            include_str!("../../fixtures/regions/hangzhou_districts.geojson"),
        ] {
            let doc: serde_json::Value = serde_json::from_str(file).unwrap();
            for f in doc["features"].as_array().unwrap() {
                let name = f["properties"]["name"].as_str().unwrap();
                assert!(!district(name).is_empty(), "{name} has no English name");
            }
        }
    }
}
