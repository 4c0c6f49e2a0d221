// Pool: capacity by tier, redundancy (stripes, metadata replicas) and maintenance progress (the running job and
// the recent ones from /api/v1/pool/jobs).
import { getJson } from '../api.js';
import { stackedBar } from '../charts.js';
import { card, el, formatBytes, formatDuration, meter, muted, table, badge } from '../dom.js';
import { poolHealth } from '../model.js';

export const title = 'Pool';

export async function render() {
  const [pool, jobs] = await Promise.all([
    getJson('/api/v1/pool', { optional: true }),
    getJson('/api/v1/pool/jobs', { optional: true }),
  ]);
  if (!pool) return [card('Pool', muted('No pool is configured. Add a [pool] section and run `tiercel pool create`.'))];
  return [tiersCard(pool), redundancyCard(pool), maintenanceCard(pool, jobs), disksCard(pool)];
}

function tiersCard(pool) {
  const byTier = new Map();
  for (const d of pool.disks) {
    const t = byTier.get(d.tier) || { capacity: 0, free: 0, disks: 0 };
    t.capacity += d.capacity_bytes;
    t.free += d.free_bytes;
    t.disks += 1;
    byTier.set(d.tier, t);
  }
  const rows = [...byTier].map(([tier, t]) => [tier, t.disks, formatBytes(t.capacity), formatBytes(t.capacity - t.free),
    formatBytes(t.free), stackedBar([{ value: t.capacity - t.free, cls: 'used' }, { value: t.free, cls: 'free' }],
      { label: `${tier}: used against free`, width: 160, height: 14 })]);
  return card('Capacity by tier', table(['tier', 'disks', 'capacity', 'used', 'free', ''], rows, { id: 'tiers' }));
}

function redundancyCard(pool) {
  const health = poolHealth(pool);
  return card('Redundancy',
    el('p', {}, badge(health.label, health.cls), ` ${pool.k} data + ${pool.m} parity shards per stripe: any ${pool.m} disks may fail. `,
      `Compression ${pool.compression}${pool.encrypted ? ', encrypted' : ''}, chunk ${formatBytes(pool.chunk_size)}.`),
    stackedBar([{ value: pool.stripes.healthy, cls: 'ok' }, { value: pool.stripes.degraded, cls: 'warn' },
      { value: pool.stripes.lost, cls: 'bad' }], { label: 'stripes: healthy, degraded, lost' }),
    el('p', {}, `${pool.stripes.healthy} healthy, ${pool.stripes.degraded} degraded, ${pool.stripes.lost} lost stripes`),
    el('p', {}, `Metadata at sequence ${pool.metadata.sequence} on `,
      pool.metadata.replicas.map((r) => r.disk + (r.healthy ? '' : ` (stale: ${r.stale_reason})`)).join(', ')));
}

function jobProgress(job) {
  const p = job.progress || {};
  const fraction = p.total_bytes ? p.done_bytes / p.total_bytes : p.stripes_total ? p.stripes_done / p.stripes_total : 0;
  return el('div', {}, meter(fraction, { label: `${job.operation} progress`, level: 'info' }),
    el('p', { class: 'muted' }, `${formatBytes(p.done_bytes)} of ${formatBytes(p.total_bytes)} · `,
      `${p.stripes_done}/${p.stripes_total} stripes`, p.eta_s ? ` · about ${formatDuration(p.eta_s)} left` : ''));
}

function maintenanceCard(pool, jobs) {
  const running = pool.maintenance;
  const list = (jobs && jobs.jobs) || [];
  return card({ title: 'Maintenance', id: 'maintenance' },
    running ? el('div', {}, el('p', {}, `${running.operation} ${running.target || ''} · ${running.state} · requested by ${running.requested_by}`),
      jobProgress(running)) : muted('No scrub, heal or drain is running.'),
    list.length ? table(['job', 'operation', 'target', 'state', 'by', 'started', 'finished'], list.slice(-10).reverse().map((j) =>
      [j.id, j.operation, j.target || '', j.state, j.requested_by, j.started, j.finished || (j.error ? `error: ${j.error}` : '')])) : null);
}

function disksCard(pool) {
  return card({ title: 'Disks', id: 'pool-disks' }, table(['disk', 'path', 'tier', 'state', 'capacity', 'free', 'shards', 'latency', 'errors r/w/csum', 'metadata'],
    pool.disks.map((d) => [d.name, d.path, d.tier, d.online ? d.state : `OFFLINE: ${d.offline_reason}`,
      formatBytes(d.capacity_bytes), formatBytes(d.free_bytes), d.shards, `${d.latency_ms.toFixed(2)} ms`,
      `${d.read_errors}/${d.write_errors}/${d.checksum_errors}`, d.meta_replica ? 'yes' : ''])));
}
