// Disks: every disk with its risk; the selected one (#disks/<id>) with its risk explanation, SMART attributes,
// and temperature and latency over time (the health service's history samples).
import { getJson } from '../api.js';
import { lineChart } from '../charts.js';
import { badge, card, el, formatBytes, muted, riskLevel, table } from '../dom.js';
import { mergeDisks } from '../model.js';

export const title = 'Disks';

export async function render(arg) {
  const [pool, health] = await Promise.all([
    getJson('/api/v1/pool', { optional: true }),
    getJson('/api/v1/disks', { optional: true }),
  ]);
  const disks = mergeDisks(pool, health);
  const list = card('Disks', disks.length ? diskTable(disks, arg) : muted('No disks are configured.'));
  if (!health) return [list, card('SMART', muted('The daemon runs no health service: no SMART data or risk.'))];
  const chosen = pick(health.disks, arg);
  if (!chosen) return [list];
  const detail = await getJson(`/api/v1/disks/${encodeURIComponent(chosen.id)}`);
  return [list, ...diskDetail(detail)];
}

// The disk named in the URL, else the riskiest one.
function pick(disks, arg) {
  if (arg) return disks.find((d) => d.id === arg || d.name === arg);
  return [...disks].sort((a, b) => b.risk.score - a.risk.score)[0];
}

function diskTable(disks, selected) {
  return table(['disk', 'tier', 'state', 'model', 'temp', 'latency', 'free', 'risk'], disks.map((d) => [
    el('a', { href: `#disks/${encodeURIComponent(d.id)}`, 'aria-current': d.id === selected ? 'true' : undefined }, d.name),
    d.tier || '',
    d.online === false ? 'OFFLINE' : d.state,
    (d.smart && d.smart.model) || '–',
    d.temperature_c === null || d.temperature_c === undefined ? '–' : `${d.temperature_c} °C`,
    d.latency_ms === null || d.latency_ms === undefined ? '–' : `${Number(d.latency_ms).toFixed(2)} ms`,
    d.free_bytes === undefined ? '–' : formatBytes(d.free_bytes),
    d.risk ? badge(`${d.risk.level.replace('_', ' ')} · ${d.risk.score}`, riskLevel[d.risk.level] || 'muted') : '–',
    { row: { 'data-disk': d.name, class: d.risk && d.risk.level === 'at_risk' ? 'at-risk' : undefined } },
  ]), { id: 'disk-table' });
}

function diskDetail(disk) {
  const smart = disk.smart;
  const level = riskLevel[disk.risk.level] || 'muted';
  const summary = card({ title: `${disk.name}: ${disk.risk.level.replace('_', ' ')}`, id: 'disk-detail' },
    el('p', {}, badge(`risk ${disk.risk.score}`, level), ' ',
      `SMART ${smart.status}`, smart.model ? ` · ${smart.model}` : '', smart.serial ? ` · serial ${smart.serial}` : '',
      smart.power_on_hours !== null && smart.power_on_hours !== undefined ? ` · ${smart.power_on_hours} h powered on` : ''),
    smart.reason ? muted(smart.reason) : null,
    disk.risk.explanation.length
      ? el('ul', { class: 'explanation' }, disk.risk.explanation.map((f) => el('li', {}, el('code', {}, f.fact),
        ` (+${f.weight}) `, f.detail)))
      : muted('Nothing counts against this disk.'),
    el('p', { class: 'muted' }, `errors read/write/checksum: ${disk.errors.read}/${disk.errors.write}/${disk.errors.checksum}`,
      ` · ${disk.polls} polls`));
  const history = disk.history.map((s) => ({ x: s.time * 1000, temperature: s.temperature_c, latency: s.latency_ms }));
  const charts = card({ title: 'Over time', id: 'disk-charts' }, el('div', { class: 'charts' },
    lineChart(history.map((s) => ({ x: s.x, y: s.temperature })), { label: 'Temperature', unit: '°C', format: (v) => v.toFixed(0) }),
    lineChart(history.map((s) => ({ x: s.x, y: s.latency })), { label: 'Latency', unit: 'ms', format: (v) => v.toFixed(2) })));
  const attributes = smart.attributes.length
    ? table(['id', 'attribute', 'value', 'worst', 'thresh', 'raw'], smart.attributes.map((a) => [
      a.id, a.name, a.value, a.worst, a.thresh, a.raw_string || a.raw,
      { row: { class: a.failing_now ? 'failing' : undefined, 'data-attribute': a.id } }]), { id: 'smart-attributes' })
    : muted(smart.nvme ? `NVMe: ${JSON.stringify(smart.nvme)}` : 'No SMART attributes reported.');
  return [summary, charts, card('SMART attributes', attributes)];
}
