// Small DOM helpers shared by the pages: element construction (text is always set as text, never as HTML, so
// nothing the daemon reports can inject markup), cards, tables, badges and number formatting.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function card(title, ...children) {
  const attrs = typeof title === 'object' && !(title instanceof Node) ? title : { title };
  return el('section', { class: `card ${attrs.class || ''}`.trim(), id: attrs.id }, el('h2', {}, attrs.title),
    ...children);
}

export function muted(text) {
  return el('p', { class: 'muted' }, text);
}

// rows: arrays of cells; a row may carry attributes as a trailing object with a `row` key.
export function table(headers, rows, { id, cls } = {}) {
  const head = el('tr', {}, headers.map((h) => el('th', {}, h)));
  const body = rows.map((row) => {
    const last = row[row.length - 1];
    const hasAttrs = Boolean(last && typeof last === 'object' && !(last instanceof Node) && last.row);
    const cells = hasAttrs ? row.slice(0, -1) : row;
    return el('tr', hasAttrs ? last.row : {}, cells.map((cell) => el('td', {}, cell)));
  });
  return el('div', { class: 'scroll' }, el('table', { id, class: cls }, el('thead', {}, head), el('tbody', {}, body)));
}

export function badge(text, level) {
  return el('span', { class: `badge ${level}`, 'data-level': level }, text);
}

// A horizontal bar: fraction in [0, 1], optional marks (water marks) as fractions.
export function meter(fraction, { label, level = 'ok', marks = [] } = {}) {
  const bar = el('div', { class: 'meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-valuenow': Math.round(fraction * 100), 'aria-label': label });
  const fill = el('div', { class: `fill ${level}` });
  fill.style.width = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%`;
  bar.append(fill);
  for (const mark of marks) {
    const tick = el('div', { class: 'mark', title: mark.label });
    tick.style.left = `${(mark.at * 100).toFixed(1)}%`;
    bar.append(tick);
  }
  return bar;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatPercent(fraction) {
  return fraction === null || fraction === undefined ? '–' : `${(fraction * 100).toFixed(1)} %`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// Times arrive as Unix seconds, nanoseconds or ISO strings depending on the module.
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return new Date(value);
  if (value > 1e17) return new Date(value / 1e6);
  if (value > 1e11) return new Date(value);
  return new Date(value * 1000);
}

export function formatTime(value) {
  const date = toDate(value);
  if (!date || Number.isNaN(date.getTime())) return '–';
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export const riskLevel = { ok: 'ok', unknown: 'muted', watch: 'warn', at_risk: 'bad', failing: 'bad' };
