// UI strings (Chinese first, English switch) and locale-aware number
// formatting. Code tables (industries, fields, …) come from /api/taxonomy and
// carry their own name_zh / name_en.

const STRINGS = {
  zh: {
    title: '人才产业地图',
    subtitle: '产业与人才分布',
    langSwitch: 'English',
    langSwitchLabel: 'Switch to English',
    searchPlaceholder: '搜索企业名称…',
    searchLabel: '企业搜索',
    searchNone: '未找到企业',
    layers: '图层',
    filters: '筛选',
    resetFilters: '清除筛选',
    layerTalents: '人才密度',
    layerTalentsNote: '按网格聚合的人才数量',
    layerEnterprises: '企业',
    layerEnterprisesNote: '缩放时聚合点展开；重点企业突出显示',
    layerVacancies: '岗位需求',
    layerVacanciesNote: '按网格聚合的在招岗位数',
    layerRegions: '区域统计',
    layerRegionsNote: '区县与园区的分级设色',
    regionStat: '统计指标',
    statTalents: '人才数',
    statSeekers: '求职人才',
    statEnterprises: '企业数',
    statOpenings: '岗位数',
    statRatio: '求人倍率',
    statRatioNote: '求人倍率 = 岗位数 ÷ 求职人才数',
    suppressed: '<{k} 已隐藏',
    suppressedLong: '少于 {k} 人，为保护隐私已隐藏',
    noData: '无数据',
    cluster: '企业聚合（大小 = 企业数）',
    enterprise: '企业',
    keyEnterprise: '重点企业',
    clusterHasKey: '含重点企业',
    stations: '站点',
    parks: '园区',
    districts: '区县',
    filterIndustry: '产业链 / 行业',
    filterField: '学科领域',
    filterEducation: '学历',
    filterTitle: '职称',
    filterTier: '人才层次',
    filterAge: '年龄段',
    filterSeeking: '求职状态',
    any: '全部',
    chains: '产业链',
    divisions: '行业门类',
    seekingYes: '正在求职',
    seekingNo: '未在求职',
    ageBand: '{lo}–{hi} 岁',
    ageUnder: '{hi} 岁及以下',
    ageOver: '{lo} 岁及以上',
    tierNone: '无层次',
    talents: '人才',
    seekers: '求职人才',
    young: '35 岁及以下',
    topField: '最多的学科',
    openings: '在招岗位',
    employees: '员工数',
    industry: '行业',
    enterprises: '企业数',
    keyEnterprises: '重点企业数',
    clusterTitle: '{n} 家企业',
    clusterZoomHint: '点击放大',
    cellTitle: '网格',
    vacancyCell: '岗位网格',
    talentCell: '人才网格',
    education: '学历',
    field: '学科',
    title_: '职称',
    supply: '人才供给',
    demand: '岗位需求',
    byField: '按学科',
    byEducation: '按学历',
    byTitle: '按职称',
    chartTitle: '主要学科：供给与需求',
    overview: '概况',
    workers: '就业人员',
    ratio: '求人倍率',
    close: '关闭',
    regionKindDistrict: '区县',
    regionKindPark: '园区',
    loading: '加载中…',
    loadError: '加载失败：{msg}',
    details: '详情',
    detailsHint: '点击地图上的网格、企业或区域查看详情。',
    total: '合计',
    yes: '是',
    no: '否',
    zoomForEnterprises: '放大到 13 级以上查看单个企业',
    filtersActive: '{n} 项筛选生效',
    menu: '菜单',
    showPanel: '图层与筛选',
    legendLow: '少',
    legendHigh: '多',
    dataVersion: '数据版本 {v}',
    privacyNote: '人才数据仅以聚合形式展示，少于 {k} 人的网格不显示数量。',
  },
  en: {
    title: 'Industry–Talent Map',
    subtitle: 'Industry and talent distribution',
    langSwitch: '中文',
    langSwitchLabel: '切换到中文',
    searchPlaceholder: 'Search enterprises…',
    searchLabel: 'Enterprise search',
    searchNone: 'No enterprise found',
    layers: 'Layers',
    filters: 'Filters',
    resetFilters: 'Clear filters',
    layerTalents: 'Talent density',
    layerTalentsNote: 'Talents aggregated in grid cells',
    layerEnterprises: 'Enterprises',
    layerEnterprisesNote: 'Clusters split as you zoom; key enterprises marked',
    layerVacancies: 'Vacancies',
    layerVacanciesNote: 'Open positions aggregated in grid cells',
    layerRegions: 'Regions',
    layerRegionsNote: 'Choropleth of districts and parks',
    regionStat: 'Statistic',
    statTalents: 'Talents',
    statSeekers: 'Job seekers',
    statEnterprises: 'Enterprises',
    statOpenings: 'Openings',
    statRatio: 'Jobs-to-applicants ratio',
    statRatioNote: 'Ratio = openings ÷ job-seeking talents',
    suppressed: '<{k} suppressed',
    suppressedLong: 'Fewer than {k} people, suppressed for privacy',
    noData: 'No data',
    cluster: 'Enterprise cluster (size = number)',
    enterprise: 'Enterprise',
    keyEnterprise: 'Key enterprise',
    clusterHasKey: 'Contains key enterprises',
    stations: 'Stations',
    parks: 'Parks',
    districts: 'Districts',
    filterIndustry: 'Industry chain / division',
    filterField: 'Field',
    filterEducation: 'Education',
    filterTitle: 'Title',
    filterTier: 'Talent tier',
    filterAge: 'Age band',
    filterSeeking: 'Seeking a job',
    any: 'Any',
    chains: 'Industry chains',
    divisions: 'Divisions',
    seekingYes: 'Seeking',
    seekingNo: 'Not seeking',
    ageBand: '{lo}–{hi} years',
    ageUnder: '{hi} or younger',
    ageOver: '{lo} or older',
    tierNone: 'No tier',
    talents: 'Talents',
    seekers: 'Job seekers',
    young: 'Aged 35 or under',
    topField: 'Top field',
    openings: 'Openings',
    employees: 'Employees',
    industry: 'Industry',
    enterprises: 'Enterprises',
    keyEnterprises: 'Key enterprises',
    clusterTitle: '{n} enterprises',
    clusterZoomHint: 'Click to zoom in',
    cellTitle: 'Cell',
    vacancyCell: 'Vacancy cell',
    talentCell: 'Talent cell',
    education: 'Education',
    field: 'Field',
    title_: 'Title',
    supply: 'Supply (talent)',
    demand: 'Demand (openings)',
    byField: 'By field',
    byEducation: 'By education',
    byTitle: 'By title',
    chartTitle: 'Top fields: supply and demand',
    overview: 'Overview',
    workers: 'Workers',
    ratio: 'Jobs-to-applicants',
    close: 'Close',
    regionKindDistrict: 'District',
    regionKindPark: 'Park',
    loading: 'Loading…',
    loadError: 'Failed to load: {msg}',
    details: 'Details',
    detailsHint: 'Click a cell, enterprise or region on the map for its numbers.',
    total: 'Total',
    yes: 'Yes',
    no: 'No',
    zoomForEnterprises: 'Zoom to 13 or more for single enterprises',
    filtersActive: '{n} filters active',
    menu: 'Menu',
    showPanel: 'Layers and filters',
    legendLow: 'fewer',
    legendHigh: 'more',
    dataVersion: 'Data version {v}',
    privacyNote: 'Talent data is shown only as aggregates; cells with fewer than {k} people show no count.',
  },
};

export const LANGS = ['zh', 'en'];
let lang = 'zh';
let numberFormat = new Intl.NumberFormat('zh-CN');
let decimalFormat = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
let compactFormat = new Intl.NumberFormat('zh-CN', { notation: 'compact', maximumFractionDigits: 1 });

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = LANGS.includes(next) ? next : 'zh';
  const locale = lang === 'zh' ? 'zh-CN' : 'en';
  numberFormat = new Intl.NumberFormat(locale);
  decimalFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  compactFormat = new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 });
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

/** The string for `key` in the current language, with `{name}` placeholders filled. */
export function t(key, params = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Integer or count, grouped for the locale; '–' for null/undefined. */
export function fmt(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return numberFormat.format(n);
}

/** A ratio or other fractional value, at most two decimals. */
export function fmtDecimal(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return decimalFormat.format(n);
}

/** Short form for legends and cluster badges (1.2万 / 12K). */
export function fmtCompact(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return compactFormat.format(n);
}

/** Name of a code-table entry ({name_zh, name_en}) in the current language. */
export function nameOf(entry, fallback = '') {
  if (!entry) return fallback;
  return (lang === 'zh' ? entry.name_zh : entry.name_en) || entry.name_zh || entry.name_en || fallback;
}

/** Fills every element with `data-i18n` (text), `data-i18n-placeholder`,
 *  `data-i18n-label` (aria-label) and `data-i18n-title` under `root`. */
export function translateDom(root = document, params = {}) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, params);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder, params);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel, params));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle, params);
}
