// The header's account control: "Sign in" opens a small form (POST
// /api/session); once signed in the header shows the user, the role and the
// jurisdiction, and "Sign out" (DELETE /api/session). GET /api/session on
// page load restores the state. When the server serves nobody without
// signing in, the same form is shown in place of the map ("gate").
//
// A server without /api/session (no access control) leaves the control hidden.

import { t } from './i18n.js';
import { esc } from './legend.js';
import { errorMessage, jurisdictionNames, normaliseSession } from './access.js';

const $ = (sel) => document.querySelector(sel);

/** `onChange(session)` runs after every sign-in and sign-out. */
export function createAccount({ onChange = () => {} } = {}) {
  let session = null; // null: the server offers no sessions
  let regionsById = new Map();
  let gated = false;
  let busy = false;
  const root = $('#account');
  const dialog = $('#signin');
  const form = $('#signin-form');
  const errorEl = $('#signin-error');
  const openBtn = $('#signin-open');

  function showError(text) {
    errorEl.textContent = text || '';
    errorEl.hidden = !text;
  }

  /** The header: the sign-in button, or who is signed in and the sign-out button. */
  function render() {
    root.hidden = session === null;
    if (!session) return;
    const signedIn = session.authenticated;
    openBtn.hidden = signedIn;
    $('#signout').hidden = !signedIn;
    const who = $('#account-who');
    who.hidden = !signedIn;
    if (!signedIn) {
      who.innerHTML = '';
      return;
    }
    const p = session.principal;
    const role = t(`role_${p.role}`);
    const names = jurisdictionNames(session, regionsById);
    const areas = names.length ? names.join('、') : p.role === 'admin' ? t('wholeCity') : '';
    who.innerHTML = `<span class="who-id">${esc(p.id ?? '')}</span><span class="who-role">${esc(role)}</span>${
      areas ? `<span class="who-area">${esc(areas)}</span>` : ''
    }`;
    const label = t('account', { id: p.id ?? '', role, areas: areas || '–' });
    who.title = label;
    who.setAttribute('aria-label', label);
  }

  function open() {
    showError('');
    dialog.hidden = false;
    openBtn.setAttribute('aria-expanded', 'true');
    $('#signin-user').focus();
  }

  function close() {
    if (gated) return;
    dialog.hidden = true;
    openBtn.setAttribute('aria-expanded', 'false');
    form.reset();
    showError('');
    if (!openBtn.hidden) openBtn.focus();
  }

  async function submit(ev) {
    ev.preventDefault();
    if (busy) return;
    const username = $('#signin-user').value.trim();
    const password = $('#signin-pass').value;
    if (!username || !password) {
      showError(t('signInMissing'));
      return;
    }
    busy = true;
    const submitBtn = $('#signin-submit');
    submitBtn.disabled = true;
    submitBtn.textContent = t('signingIn');
    showError('');
    try {
      const res = await fetch('/api/session', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      let body = null;
      try {
        body = await res.json();
      } catch {
        /* no JSON body */
      }
      if (!res.ok) {
        // 401: wrong credentials; 429: locked out for a while. The server says which.
        let msg = errorMessage(body, t('signInFailed', { status: res.status }));
        const retry = Number(res.headers.get('Retry-After'));
        if (res.status === 429 && retry > 0 && !msg.includes(String(retry))) msg = `${msg}\n${t('signInRetry', { s: retry })}`;
        showError(msg);
        $('#signin-pass').value = '';
        $('#signin-pass').focus();
        return;
      }
      session = normaliseSession(body);
      if (gated) {
        // Nothing was loaded yet: start again with the session cookie.
        window.location.reload();
        return;
      }
      form.reset();
      dialog.hidden = true;
      openBtn.setAttribute('aria-expanded', 'false');
      render();
      onChange(session);
      $('#signout').focus();
    } catch (err) {
      showError(t('loadError', { msg: err.message }));
    } finally {
      busy = false;
      submitBtn.disabled = false;
      submitBtn.textContent = t('signInSubmit');
    }
  }

  async function signOut() {
    try {
      const res = await fetch('/api/session', { method: 'DELETE' });
      if (!res.ok && res.status !== 401) {
        let body = null;
        try {
          body = await res.json();
        } catch {
          /* no JSON body */
        }
        throw new Error(errorMessage(body, `HTTP ${res.status}`));
      }
    } catch (err) {
      console.warn(t('signOutFailed', { msg: err.message }));
      return;
    }
    const next = (await load()) || normaliseSession({ public_access: session?.public_access });
    session = next;
    if (!session.authenticated && session.public_access === false) {
      // Nothing may be shown to an anonymous visitor: start again at the form.
      window.location.reload();
      return;
    }
    render();
    onChange(session);
    openBtn.focus();
  }

  /** GET /api/session (or the request already under way): the session, or
   *  null when the server has no sessions or did not answer. */
  async function load(pending = null) {
    try {
      const res = await (pending || fetch('/api/session'));
      if (!res.ok) return null;
      session = normaliseSession(await res.json());
    } catch {
      return null;
    }
    return session;
  }

  /** Shows the form in place of the map: the server serves nobody anonymous. */
  function gate() {
    gated = true;
    if (!session) session = normaliseSession({ public_access: false });
    document.body.classList.add('gated');
    dialog.classList.add('gate');
    $('#signin-gate-note').hidden = false;
    $('#signin-cancel').hidden = true;
    render();
    open();
  }

  openBtn.addEventListener('click', () => (dialog.hidden ? open() : close()));
  $('#signin-cancel').addEventListener('click', close);
  $('#signout').addEventListener('click', signOut);
  form.addEventListener('submit', submit);
  dialog.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      close();
    }
  });

  return {
    load,
    gate,
    render,
    get session() {
      return session;
    },
    setRegions(map) {
      regionsById = map;
      render();
    },
  };
}
