// Plain-SVG grouped horizontal bar chart (no chart library).

import { fmt } from './i18n.js';
import { esc } from './legend.js';

/**
 * rows: [{label, values: [a, b, …]}]; series: [{name, color}].
 * Bars are scaled to the largest value; nulls (suppressed) are drawn as a
 * hatched stub and labelled '–'.
 */
export function barChart({ rows, series, title, width = 320 }) {
  const labelW = 112;
  const valueW = 44;
  const barH = 9;
  const gap = 3;
  const groupH = series.length * (barH + gap) + 8;
  const top = 22;
  const legendH = 18;
  const height = top + rows.length * groupH + legendH;
  const plotW = width - labelW - valueW;
  const max = Math.max(1, ...rows.flatMap((r) => r.values.filter((v) => Number.isFinite(v))));
  const parts = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<defs><pattern id="chart-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="4" stroke="#777" stroke-width="1.5"/></pattern></defs>`,
    `<text x="0" y="13" class="chart-title">${esc(title)}</text>`,
  );
  rows.forEach((row, i) => {
    const y0 = top + i * groupH;
    const label = row.label.length > 9 ? `${row.label.slice(0, 8)}…` : row.label;
    parts.push(`<text x="${labelW - 6}" y="${y0 + groupH / 2}" class="chart-label" text-anchor="end" dominant-baseline="middle"><title>${esc(row.label)}</title>${esc(label)}</text>`);
    row.values.forEach((v, j) => {
      const y = y0 + j * (barH + gap);
      const w = Number.isFinite(v) ? Math.max(v > 0 ? 1 : 0, (v / max) * plotW) : 6;
      const fill = Number.isFinite(v) ? series[j].color : 'url(#chart-hatch)';
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${fill}"><title>${esc(series[j].name)}: ${fmt(v)}</title></rect>`);
      parts.push(`<text x="${labelW + w + 4}" y="${y + barH / 2}" class="chart-value" dominant-baseline="middle">${fmt(v)}</text>`);
    });
  });
  const ly = height - 6;
  let lx = labelW;
  series.forEach((s) => {
    parts.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly}" class="chart-legend">${esc(s.name)}</text>`);
    lx += 14 + [...s.name].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 11 : 6.2), 0) + 18;
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Monthly columns: two series side by side per month (e.g. arrivals and
 * departures) and a line for a signed value (net). Nulls (suppressed) are
 * drawn as hatched stubs.
 */
export function seriesChart({ title, months, series, net, netName, width = 340 }) {
  const top = 22;
  const plotH = 120;
  const left = 34;
  const right = 6;
  const bottom = 34;
  const height = top + plotH + bottom;
  const plotW = width - left - right;
  const n = Math.max(1, months.length);
  const slot = plotW / n;
  const barW = Math.max(1.5, (slot - 2) / series.length);
  const all = series.flatMap((s) => s.values).concat(net || []).filter((x) => Number.isFinite(x));
  const max = Math.max(1, ...all);
  const min = Math.min(0, ...all);
  const y = (val) => top + ((max - val) / (max - min)) * plotH;
  const parts = [
    `<svg class="chart series-chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<defs><pattern id="series-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="4" stroke="#777" stroke-width="1.5"/></pattern></defs>`,
    `<text x="0" y="13" class="chart-title">${esc(title)}</text>`,
    `<line x1="${left}" x2="${width - right}" y1="${y(0)}" y2="${y(0)}" stroke="#9aa3ad" stroke-width="1"/>`,
    `<text x="${left - 4}" y="${y(max) + 4}" class="chart-value" text-anchor="end">${fmt(max)}</text>`,
    `<text x="${left - 4}" y="${y(0) + 4}" class="chart-value" text-anchor="end">0</text>`,
  ];
  if (min < 0) parts.push(`<text x="${left - 4}" y="${y(min) + 4}" class="chart-value" text-anchor="end">${fmt(min)}</text>`);
  months.forEach((m, i) => {
    const x0 = left + i * slot + 1;
    series.forEach((s, j) => {
      const val = s.values[i];
      const x = x0 + j * barW;
      if (Number.isFinite(val)) {
        parts.push(`<rect x="${x.toFixed(1)}" y="${y(Math.max(val, 0)).toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.abs(y(0) - y(val)).toFixed(1)}" fill="${s.color}"><title>${esc(m)} ${esc(s.name)}: ${fmt(val)}</title></rect>`);
      } else {
        parts.push(`<rect x="${x.toFixed(1)}" y="${y(0) - 6}" width="${barW.toFixed(1)}" height="6" fill="url(#series-hatch)"><title>${esc(m)} ${esc(s.name)}: –</title></rect>`);
      }
    });
    if (i % Math.ceil(n / 6) === 0 || i === n - 1) {
      parts.push(`<text x="${(x0 + slot / 2).toFixed(1)}" y="${top + plotH + 13}" class="chart-label" text-anchor="middle">${esc(m.slice(2))}</text>`);
    }
  });
  if (net) {
    const pts = net
      .map((val, i) => (Number.isFinite(val) ? `${(left + i * slot + slot / 2).toFixed(1)},${y(val).toFixed(1)}` : null))
      .filter(Boolean);
    if (pts.length > 1) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#111827" stroke-width="1.6"/>`);
  }
  const ly = height - 5;
  let lx = left;
  const legendItems = [...series.map((s) => ({ name: s.name, color: s.color })), ...(net ? [{ name: netName, color: '#111827', line: true }] : [])];
  for (const s of legendItems) {
    parts.push(s.line ? `<line x1="${lx}" x2="${lx + 12}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>` : `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 15}" y="${ly}" class="chart-legend">${esc(s.name)}</text>`);
    lx += 15 + [...s.name].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 11 : 6.2), 0) + 14;
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A monthly line (e.g. an area's talent stock) with a month marked by a
 * vertical line and optional shaded month bands ({from, to, cls}: the
 * windows compared). Nulls (suppressed) break the line.
 */
export function lineChart({ title, months, values, mark = null, markLabel = '', bands = [], width = 340 }) {
  const top = 22;
  const plotH = 110;
  const left = 40;
  const right = 8;
  const bottom = 22;
  const height = top + plotH + bottom;
  const plotW = width - left - right;
  const n = Math.max(1, months.length);
  const slot = plotW / n;
  const xOf = (i) => left + i * slot + slot / 2;
  const finite = values.filter((v) => Number.isFinite(v));
  let max = Math.max(1, ...finite);
  let min = finite.length ? Math.min(...finite) : 0;
  // Some room above and below, so small changes show.
  const pad = Math.max(1, (max - min) * 0.1);
  max += pad;
  min = Math.max(0, min - pad);
  const y = (v) => top + ((max - v) / (max - min || 1)) * plotH;
  const parts = [
    `<svg class="chart line-chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="0" y="13" class="chart-title">${esc(title)}</text>`,
  ];
  for (const b of bands) {
    const i0 = months.indexOf(b.from);
    const i1 = months.indexOf(b.to);
    if (i0 < 0 || i1 < 0) continue;
    const x0 = left + i0 * slot;
    const w = (i1 - i0 + 1) * slot;
    parts.push(`<rect class="band ${esc(b.cls || '')}" x="${x0.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${plotH}"/>`);
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#9aa3ad" stroke-width="1"/>`,
    `<text x="${left - 4}" y="${y(max) + 8}" class="chart-value" text-anchor="end">${fmt(Math.round(max))}</text>`,
    `<text x="${left - 4}" y="${top + plotH}" class="chart-value" text-anchor="end">${fmt(Math.round(min))}</text>`,
  );
  const mi = mark ? months.indexOf(mark) : -1;
  if (mi >= 0) {
    const x = xOf(mi).toFixed(1);
    parts.push(
      `<line class="mark" x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#111827" stroke-width="1.4" stroke-dasharray="4 3" data-month="${esc(mark)}"/>`,
      `<text x="${x}" y="${top - 2}" class="chart-label" text-anchor="${mi > n / 2 ? 'end' : 'start'}">${esc(markLabel)}</text>`,
    );
  }
  // The line, broken where a month has no value.
  let run = [];
  const runs = [];
  values.forEach((v, i) => {
    if (Number.isFinite(v)) run.push(`${xOf(i).toFixed(1)},${y(v).toFixed(1)}`);
    else if (run.length) {
      runs.push(run);
      run = [];
    }
  });
  if (run.length) runs.push(run);
  for (const r of runs) {
    if (r.length > 1) parts.push(`<polyline points="${r.join(' ')}" fill="none" stroke="#1a6fb0" stroke-width="2"/>`);
  }
  values.forEach((v, i) => {
    if (Number.isFinite(v)) parts.push(`<circle cx="${xOf(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="${i === mi ? 3.5 : 1.8}" fill="#1a6fb0"><title>${esc(months[i])}: ${fmt(v)}</title></circle>`);
  });
  months.forEach((m, i) => {
    if (i % Math.ceil(n / 6) === 0 || i === n - 1) {
      parts.push(`<text x="${xOf(i).toFixed(1)}" y="${top + plotH + 14}" class="chart-label" text-anchor="middle">${esc(m.slice(2))}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}
