// Enterprise search by name: a combobox over /api/enterprises?q=…; picking
// a result flies the map to it.

import { fmt, nameOf, t } from './i18n.js';
import { esc } from './legend.js';

export function setupSearch({ input, list, tax, onPick }) {
  let results = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const render = () => {
    if (!results.length) {
      list.innerHTML = `<li class="empty" role="option" aria-disabled="true">${esc(t('searchNone'))}</li>`;
    } else {
      list.innerHTML = results
        .map((f, i) => {
          const p = f.properties;
          const industry = nameOf(tax.industries.get(String(p.industry)), p.industry ?? '');
          return `<li id="search-opt-${i}" role="option" aria-selected="${i === active}" data-index="${i}">
            <span class="name">${esc(p.name)}${p.key ? ` <span class="badge">${esc(t('keyEnterprise'))}</span>` : ''}</span>
            <span class="meta">${esc(industry)} · ${esc(t('employees'))} ${fmt(p.employees)}</span></li>`;
        })
        .join('');
    }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    if (active >= 0) input.setAttribute('aria-activedescendant', `search-opt-${active}`);
    else input.removeAttribute('aria-activedescendant');
  };

  const query = async () => {
    const q = input.value.trim();
    if (!q) {
      results = [];
      close();
      return;
    }
    const mine = (seq += 1);
    try {
      const res = await fetch(`/api/enterprises?q=${encodeURIComponent(q)}&limit=8`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (mine !== seq) return;
      results = body.features || [];
      active = results.length ? 0 : -1;
      render();
    } catch (err) {
      if (mine === seq) {
        results = [];
        render();
      }
    }
  };

  const pick = (i) => {
    const f = results[i];
    if (!f) return;
    input.value = f.properties.name;
    close();
    onPick(f);
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(query, 200);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      if (list.hidden) return;
      ev.preventDefault();
      const n = results.length;
      if (!n) return;
      active = (active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      render();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      clearTimeout(timer);
      if (!list.hidden && active >= 0) pick(active);
      else query().then(() => active >= 0 && pick(active));
    } else if (ev.key === 'Escape') {
      close();
    }
  });
  list.addEventListener('mousedown', (ev) => {
    const li = ev.target.closest('li[data-index]');
    if (li) {
      ev.preventDefault();
      pick(Number(li.dataset.index));
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
