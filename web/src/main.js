// The dashboard's shell: hash routing (#page or #page/<arg>), the header (overall state, live-update mode,
// session), and refreshing the current page when the daemon reports an event (or every 5 s while polling).
import './style.css';
import { getJson, loadSession, logout, onUnauthorized, session } from './api.js';
import { card, el } from './dom.js';
import { startLive } from './live.js';
import { poolHealth } from './model.js';
import * as overview from './pages/overview.js';
import * as disks from './pages/disks.js';
import * as pool from './pages/pool.js';
import * as tiering from './pages/tiering.js';
import * as plans from './pages/plans.js';
import * as events from './pages/events.js';
import * as login from './pages/login.js';

const pages = { overview, disks, pool, tiering, plans, events, login };
let current = null;
let rendering = null;
let again = false;

function route() {
  const [name, ...rest] = location.hash.replace(/^#/, '').split('/');
  return { name: pages[name] ? name : 'overview', arg: rest.length ? decodeURIComponent(rest.join('/')) : null };
}

// Renders the current page; a refresh asked for while one runs is folded into one more run afterwards.
async function render() {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = renderOnce().finally(() => {
    rendering = null;
    if (again) {
      again = false;
      render();
    }
  });
  return rendering;
}

async function renderOnce() {
  const { name, arg } = route();
  const page = pages[name];
  if (current && current !== page && current.leave) current.leave();
  current = page;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === name);
  document.title = `${page.title} · Tiercel`;
  let nodes;
  try {
    nodes = await page.render(arg);
  } catch (error) {
    nodes = [card(page.title, el('p', { class: 'health bad', role: 'alert' }, `Could not load: ${error.message}`))];
  }
  if (route().name !== name) return;  // the user moved on while this page loaded
  document.getElementById('page').replaceChildren(...nodes.filter(Boolean));
  document.body.dataset.page = name;
  document.body.dataset.rendered = String(Date.now());
}

// A refresh must not wipe what the user is typing (a login token, a decision reason), nor a page that shows no
// daemon data (the login page, with its last message).
function refresh() {
  renderHeader();
  const active = document.activeElement;
  if (active && active.closest('#page') && active.matches('input, textarea, select')) return;
  if (pages[route().name].refreshes === false) return;
  render();
}

async function renderHeader() {
  const badgeNode = document.getElementById('state-badge');
  try {
    const status = await getJson('/api/v1/status', { optional: true });
    let state = status && status.state;
    let text = status && status.summary;
    if (!status) {
      const pool = await getJson('/api/v1/pool', { optional: true });
      const health = pool ? poolHealth(pool) : { label: 'no pool', cls: 'muted' };
      state = { ok: 'ok', warn: 'warning', bad: 'critical', muted: 'ok' }[health.cls];
      text = pool ? `pool ${health.label}` : 'daemon ok';
    }
    badgeNode.textContent = text || state;
    badgeNode.className = `badge ${{ ok: 'ok', warning: 'warn', critical: 'bad' }[state] || 'muted'}`;
  } catch (error) {
    badgeNode.textContent = error.status === 401 ? 'log in to see the state' : 'daemon unreachable';
    badgeNode.className = 'badge bad';
  }
  badgeNode.hidden = false;
  renderSession();
}

function renderSession() {
  const node = document.getElementById('session');
  if (session.authenticated) {
    node.replaceChildren(el('button', { type: 'button', class: 'link', onclick: async () => {
      await logout();
      renderSession();
    } }, 'Log out'));
  } else if (session.mutationsNeedLogin) {
    node.replaceChildren(el('a', { href: `#login/${encodeURIComponent(location.hash || '#overview')}` }, 'Log in'));
  } else {
    node.replaceChildren();
  }
}

function setLiveMode(mode, why) {
  const node = document.getElementById('live');
  node.textContent = mode === 'live' ? '● live' : '○ polling';
  node.className = `live ${mode}`;
  node.title = why;
  document.body.dataset.live = mode;
}

let pendingRefresh = null;
function onEvent() {
  clearTimeout(pendingRefresh);
  pendingRefresh = setTimeout(refresh, 250);  // a burst of events costs one refresh
}

onUnauthorized(() => {
  session.authenticated = false;
  if (route().name !== 'login') location.hash = `#login/${encodeURIComponent(location.hash || '#overview')}`;
});
// Even with the stream up, refresh now and then: progress counters (a drain's bytes) change without an event.
setInterval(() => {
  if (document.body.dataset.live === 'live') refresh();
}, 15000);
window.addEventListener('hashchange', () => render());
window.addEventListener('tiercel:refresh', () => render());
window.addEventListener('tiercel:session', () => renderHeader());

async function renderFooter() {
  const health = await getJson('/api/v1/health').catch(() => null);
  document.getElementById('footer').textContent = health ? `tiercel ${health.version} · daemon ${health.status}` : '';
}

loadSession().catch(() => null).finally(() => {
  render();
  renderFooter();
  renderHeader();
  startLive({ onEvent, onTick: refresh, onMode: setLiveMode });
});
