// Filter controls, built from /api/taxonomy. They read and write
// `state.filters`; the caller reloads tiles and updates the URL.

import { nameOf, t } from './i18n.js';
import { esc } from './legend.js';
import { emptyFilters } from './state.js';

// Five-year-aligned bands: the server accepts min_age multiples of 5 and
// max_age one less (disclosure control, docs/privacy.md).
export const AGE_BANDS = [
  { min: null, max: 24 },
  { min: 25, max: 34 },
  { min: 35, max: 44 },
  { min: 45, max: 54 },
  { min: 55, max: null },
];

function ageLabel(b) {
  if (b.min === null) return t('ageUnder', { hi: b.max });
  if (b.max === null) return t('ageOver', { lo: b.min });
  return t('ageBand', { lo: b.min, hi: b.max });
}

function option(value, label, selected) {
  return `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;
}

function chips(name, entries, selected) {
  return entries
    .map(
      (e) =>
        `<label class="chip"><input type="checkbox" name="${name}" value="${esc(e.code)}"${selected.includes(String(e.code)) ? ' checked' : ''}><span>${esc(e.label)}</span></label>`,
    )
    .join('');
}

/** Options in <optgroup>s by each entry's `group` (industry section, field
 *  category), named from `groups` ({code, name_zh, name_en}) when given. */
function grouped(entries, groups, render) {
  const names = new Map((groups || []).map((g) => [String(g.code), g]));
  const byGroup = new Map();
  for (const e of entries) {
    const g = String(e.group ?? e.section ?? e.category ?? '');
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g).push(e);
  }
  return [...byGroup.entries()]
    .map(([g, list]) => {
      const label = names.has(g) ? `${g} ${nameOf(names.get(g))}` : g || t('divisions');
      return `<optgroup label="${esc(label)}">${list.map(render).join('')}</optgroup>`;
    })
    .join('');
}

/** Renders the filter form into `root` for `state`; `onChange()` is called
 *  after state.filters has been updated from the controls. */
export function renderFilters(root, tax, state, onChange) {
  const f = state.filters;
  const industryValue = f.industry.join(',');
  const chainOpts = tax.raw.chains.map((c) => option(c.id, nameOf(c, c.id), industryValue === c.id)).join('');
  const divisionOpts = grouped(tax.raw.industries, tax.raw.sections, (d) => option(d.code, `${d.code} ${nameOf(d)}`, industryValue === String(d.code)));
  const knownIndustry = !industryValue || tax.chains.has(industryValue) || tax.industries.has(industryValue);
  const fieldValue = f.field.join(',');
  const fieldOpts = grouped(tax.raw.fields, tax.raw.categories, (d) => option(d.code, `${d.code} ${nameOf(d)}`, fieldValue === String(d.code)));
  const knownField = !fieldValue || tax.fields.has(fieldValue);
  const ageIndex = AGE_BANDS.findIndex((b) => b.min === f.min_age && b.max === f.max_age);
  const customAge = ageIndex < 0 && (f.min_age !== null || f.max_age !== null);
  const seekingValue = f.seeking === null ? '' : String(f.seeking);

  // Tier names carry their letter (A类 顶尖人才 / A: top).
  const tierEntries = tax.raw.tiers.map((e) => ({ code: e.code, label: nameOf(e, e.code === 'none' ? t('tierNone') : e.code) }));

  root.innerHTML = `
    <div class="field-row">
      <label for="f-industry">${esc(t('filterIndustry'))}</label>
      <select id="f-industry" name="industry">
        ${option('', t('any'), !industryValue)}
        ${knownIndustry ? '' : option(industryValue, industryValue, true)}
        <optgroup label="${esc(t('chains'))}">${chainOpts}</optgroup>
        ${divisionOpts}
      </select>
    </div>
    <div class="field-row">
      <label for="f-field">${esc(t('filterField'))}</label>
      <select id="f-field" name="field">
        ${option('', t('any'), !fieldValue)}
        ${knownField ? '' : option(fieldValue, fieldValue, true)}
        ${fieldOpts}
      </select>
    </div>
    <fieldset class="field-row">
      <legend>${esc(t('filterEducation'))}</legend>
      <div class="chips">${chips('education', tax.raw.education.map((e) => ({ code: e.code, label: nameOf(e) })), f.education)}</div>
    </fieldset>
    <fieldset class="field-row">
      <legend>${esc(t('filterTitle'))}</legend>
      <div class="chips">${chips('title', tax.raw.titles.map((e) => ({ code: e.code, label: nameOf(e) })), f.title)}</div>
    </fieldset>
    <fieldset class="field-row">
      <legend>${esc(t('filterTier'))}</legend>
      <div class="chips">${chips('tier', tierEntries, f.tier)}</div>
    </fieldset>
    <div class="field-row two">
      <div>
        <label for="f-age">${esc(t('filterAge'))}</label>
        <select id="f-age" name="age">
          ${option('', t('any'), ageIndex < 0 && !customAge)}
          ${customAge ? option('custom', `${f.min_age ?? 0}–${f.max_age ?? '…'}`, true) : ''}
          ${AGE_BANDS.map((b, i) => option(String(i), ageLabel(b), i === ageIndex)).join('')}
        </select>
      </div>
      <div>
        <label for="f-seeking">${esc(t('filterSeeking'))}</label>
        <select id="f-seeking" name="seeking">
          ${option('', t('any'), seekingValue === '')}
          ${option('true', t('seekingYes'), seekingValue === 'true')}
          ${option('false', t('seekingNo'), seekingValue === 'false')}
        </select>
      </div>
    </div>`;

  root.onchange = (ev) => {
    const el = ev.target;
    const list = (v) => (v ? v.split(',') : []);
    switch (el.name) {
      case 'industry':
        f.industry = list(el.value);
        break;
      case 'field':
        f.field = list(el.value);
        break;
      case 'education':
      case 'title':
      case 'tier':
        f[el.name] = [...root.querySelectorAll(`input[name="${el.name}"]:checked`)].map((i) => i.value);
        break;
      case 'age': {
        if (el.value === 'custom') return;
        const band = AGE_BANDS[Number(el.value)];
        f.min_age = el.value === '' ? null : band.min;
        f.max_age = el.value === '' ? null : band.max;
        break;
      }
      case 'seeking':
        f.seeking = el.value === '' ? null : el.value === 'true';
        break;
      default:
        return;
    }
    onChange();
  };
}

export function resetFilters(state) {
  state.filters = emptyFilters();
}
