// Tiering (HSM): hot filesystem usage against the water marks, archived against resident files, recall latency
// over the recent recalls, and recent activity.
import { getJson } from '../api.js';
import { lineChart, stackedBar } from '../charts.js';
import { card, el, formatBytes, formatDuration, formatPercent, formatTime, meter, muted, table } from '../dom.js';

export const title = 'Tiering';

// Catalogue states whose data lives only in the archive (a sparse stub, or a stub partly recalled); every other
// state (premigrated, dirty, ...) still has its bytes on the hot filesystem.
const ARCHIVED = ['stub', 'partial'];

export async function render() {
  const hsm = await getJson('/api/v1/hsm', { optional: true });
  if (!hsm) return [card('Tiering', muted('No HSM is configured ([hsm] in the config): nothing is archived or recalled.'))];
  return [watchedCard(hsm), statesCard(hsm), recallsCard(hsm), activityCard(hsm)];
}

function watchedCard(hsm) {
  return card({ title: 'Hot filesystems', id: 'hsm-watched' }, hsm.watched.map((w) => el('div', { class: 'watched' },
    el('p', {}, el('strong', {}, w.path), ' ', w.error ? `(${w.error})`
      : `${formatPercent(w.used_fraction)} of ${formatBytes(w.size_bytes)} used · archive above ${formatPercent(w.high_water)}, down to ${formatPercent(w.low_water)}`),
    w.error ? null : meter(w.used_fraction, { label: `${w.path} used`, level: w.above_high_water ? 'warn' : 'ok',
      marks: [{ at: w.low_water, label: 'low water' }, { at: w.high_water, label: 'high water' }] }))));
}

function statesCard(hsm) {
  const counts = hsm.counts || {};
  const archived = ARCHIVED.reduce((sum, s) => sum + (counts[s] || 0), 0);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const resident = total - archived;
  return card({ title: 'Archived and resident', id: 'hsm-states' },
    stackedBar([{ value: resident, cls: 'ok' }, { value: archived, cls: 'info' }], { label: 'resident against archived files' }),
    el('p', { id: 'hsm-split' }, `${resident} resident, ${archived} archived only (stubs)`),
    table(['state', 'files'], Object.entries(counts).map(([state, n]) => [state, n])));
}

function recallsCard(hsm) {
  const recalls = hsm.recent_recalls || [];
  const stats = hsm.interceptor || {};
  return card({ title: 'Recalls', id: 'hsm-recalls' },
    lineChart(recalls.map((r) => ({ x: r.at_ns / 1e6, y: r.seconds * 1000 })), { label: 'Recall latency', unit: 'ms', format: (v) => v.toFixed(0) }),
    el('p', { class: 'muted' }, `${stats.recalls_completed || 0} recalls completed, ${stats.recalls_failed || 0} failed, `,
      `${formatBytes(stats.bytes_recalled || 0)} recalled; ${stats.denied || 0} opens denied, ${stats.timed_out || 0} timed out`),
    recalls.length ? table(['time', 'path', 'size', 'took', 'outcome'], recalls.slice(-10).reverse().map((r) =>
      [formatTime(r.at_ns), r.path, formatBytes(r.bytes), formatDuration(r.seconds), r.outcome])) : null);
}

function activityCard(hsm) {
  const events = hsm.recent_events || [];
  return card({ title: 'Recent activity', id: 'hsm-activity' }, events.length
    ? table(['time', 'what', 'path', 'detail'], events.map((e) => [formatTime(e.at_ns), e.kind, e.path, e.detail]))
    : muted('No archive or recall yet.'));
}
