// Hand-drawn SVG charts (no chart library: two small chart kinds do not justify a dependency). lineChart draws
// one series of {x, y} points (x: Date or number) with min/max labels; gaps (y null) break the line.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function extent(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) {
    min -= 1;
    max += 1;
  }
  return [min, max];
}

export function lineChart(points, { label, unit = '', width = 480, height = 160, format = (v) => v.toFixed(1) } = {}) {
  const valid = points.filter((p) => p.y !== null && p.y !== undefined && Number.isFinite(p.y));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img',
    'aria-label': `${label}: ${valid.length} samples` });
  root.append(svg('title', {}, label));
  if (valid.length < 2) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty' },
      valid.length ? `${format(valid[0].y)} ${unit} (one sample so far)` : 'no samples yet'));
    return root;
  }
  const pad = { left: 44, right: 8, top: 24, bottom: 18 };
  const xs = valid.map((p) => Number(p.x));
  const [x0, x1] = extent(xs);
  const [y0, y1] = extent(valid.map((p) => p.y));
  const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  let d = '';
  let pen = 'M';
  for (const p of points) {
    if (p.y === null || p.y === undefined || !Number.isFinite(p.y)) {
      pen = 'M';
      continue;
    }
    d += `${pen}${sx(Number(p.x)).toFixed(1)},${sy(p.y).toFixed(1)} `;
    pen = 'L';
  }
  root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom,
    class: 'axis' }));
  root.append(svg('text', { x: pad.left - 4, y: sy(y1) + 4, 'text-anchor': 'end', class: 'tick' }, format(y1)));
  root.append(svg('text', { x: pad.left - 4, y: sy(y0) + 4, 'text-anchor': 'end', class: 'tick' }, format(y0)));
  const span = (x1 - x0) / 1000;
  root.append(svg('text', { x: width - pad.right, y: height - 4, 'text-anchor': 'end', class: 'tick' },
    xs[0] > 1e11 ? `last ${span < 120 ? `${Math.round(span)} s` : `${Math.round(span / 60)} min`}` : ''));
  root.append(svg('path', { d: d.trim(), class: 'series', fill: 'none' }));
  const last = valid[valid.length - 1];
  root.append(svg('circle', { cx: sx(Number(last.x)), cy: sy(last.y), r: 3, class: 'series-dot' }));
  root.append(svg('text', { x: pad.left, y: 14, class: 'chart-label' }, `${label} · now ${format(last.y)} ${unit}`));
  return root;
}

// A stacked horizontal bar of named parts ({label, value, cls}), with a legend.
export function stackedBar(parts, { label, width = 480, height = 26 } = {}) {
  const total = parts.reduce((sum, p) => sum + p.value, 0) || 1;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart stacked', role: 'img', 'aria-label': label });
  root.append(svg('title', {}, label));
  let x = 0;
  for (const part of parts) {
    const w = (part.value / total) * width;
    if (w > 0) root.append(svg('rect', { x, y: 0, width: w, height, class: `part ${part.cls || ''}` }));
    x += w;
  }
  return root;
}
