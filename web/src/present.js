// Presentation and print: the map alone on the screen or the page, with
// what a map shown to others needs — a title naming the layers on, their
// legends, a north arrow (the map never rotates), MapLibre's scale bar, the
// data version and date, and the sources. The `presenting` class on <body>
// turns it on (the Present button; Escape leaves it); printing from the
// browser gives the same frame (`@media print` in style.css).

import { esc } from './legend.js';
import { getLang, t } from './i18n.js';

/** Wires the Present and Print buttons and the frame; `a.renderFrame`
 *  redraws it (the language switch calls it). */
export function setupPresentation(a) {
  const { map, stats } = a;
  const body = document.body;
  const button = document.getElementById('present');
  const frame = document.getElementById('frame');

  a.renderFrame = () => {
    const on = [...document.querySelectorAll('#layer-list .layer.on')];
    const names = on.map((li) => li.querySelector('.layer-name')?.textContent ?? '').filter(Boolean);
    frame.querySelector('.frame-title').textContent = t('title');
    frame.querySelector('.frame-layers').textContent = names.join(' · ');
    frame.querySelector('.frame-legend').innerHTML = on
      .map((li) => {
        const legend = li.querySelector('.legend')?.innerHTML ?? '';
        return legend ? `<section><h3>${esc(li.querySelector('.layer-name')?.textContent ?? '')}</h3>${legend}</section>` : '';
      })
      .join('');
    const date = new Intl.DateTimeFormat(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'long' }).format(new Date());
    frame.querySelector('.frame-source').textContent = t('frameSource', { v: stats.version ?? '–', date });
  };

  const set = (presenting) => {
    const was = body.classList.contains('presenting');
    body.classList.toggle('presenting', presenting);
    button.setAttribute('aria-pressed', String(presenting));
    frame.hidden = !presenting;
    if (presenting) a.renderFrame();
    map.resize();
    // The keyboard follows: into the frame's tools, and back to the button.
    if (presenting && !was) document.getElementById('frame-close').focus({ preventScroll: true });
    if (!presenting && was) button.focus({ preventScroll: true });
    if (presenting && document.fullscreenEnabled && !document.fullscreenElement) {
      document.documentElement.requestFullscreen().catch(() => {});
    } else if (!presenting && document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    }
  };
  button.addEventListener('click', () => set(!body.classList.contains('presenting')));
  document.getElementById('frame-close').addEventListener('click', () => set(false));
  document.getElementById('frame-print').addEventListener('click', () => window.print());
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && body.classList.contains('presenting')) set(false);
  });
  // Leaving full screen with the browser's own key leaves presenting too.
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && body.classList.contains('presenting')) set(false);
  });
  // Printing from the browser's menu gets the frame with current contents.
  window.addEventListener('beforeprint', () => {
    a.renderFrame();
    frame.hidden = false;
    map.resize();
  });
  window.addEventListener('afterprint', () => {
    frame.hidden = !body.classList.contains('presenting');
    map.resize();
  });
}
