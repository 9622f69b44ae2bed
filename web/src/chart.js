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
