// Start the API requests while the modules load; app.js picks them up. A
// classic script (not inline: the page's Content-Security-Policy allows
// scripts from the page's own origin only).
window.__talentmapBoot = ['/api/taxonomy', '/api/stats', '/api/regions', '/api/session', '/fonts.json'].map((p) => fetch(p));
