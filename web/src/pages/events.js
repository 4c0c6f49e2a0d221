// Events: the daemon's event log, newest first, paged backwards with "Older" (?before=<id>). New events arrive
// through the live stream, which re-renders the first page.
import { getJson } from '../api.js';
import { badge, card, el, formatTime, muted, table } from '../dom.js';

export const title = 'Events';

const pages = [];  // the `before` cursor of each page the user went back to; empty: the newest page

export async function render() {
  const before = pages.length ? pages[pages.length - 1] : null;
  const body = await getJson(`/api/v1/events?limit=50${before ? `&before=${encodeURIComponent(before)}` : ''}`, { optional: true });
  if (!body) return [card('Events', muted('This daemon keeps no event log (no /api/v1/events).'))];
  const rows = body.events.map((e) => [formatTime(e.time), badge(e.level, levelClass(e.level)), e.source, e.kind, e.message,
    { row: { 'data-event': e.id } }]);
  const controls = el('p', { class: 'controls' },
    pages.length ? el('button', { type: 'button', onclick: () => { pages.pop(); rerender(); } }, 'Newer') : null,
    body.next ? el('button', { type: 'button', onclick: () => { pages.push(body.next); rerender(); } }, 'Older') : null);
  return [card({ title: 'Events', id: 'events' },
    rows.length ? table(['time', 'level', 'source', 'kind', 'message'], rows, { id: 'event-table' }) : muted('No events yet.'),
    controls)];
}

function rerender() {
  window.dispatchEvent(new Event('tiercel:refresh'));
}

function levelClass(level) {
  return { error: 'bad', critical: 'bad', warning: 'warn', warn: 'warn', info: 'info' }[level] || 'muted';
}

export function leave() {
  pages.length = 0;  // coming back starts at the newest events
}
