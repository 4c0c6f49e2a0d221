// Overview: is the data safe? Pool health, every disk with its risk, alerts and plans waiting for a person.
import { getJson } from '../api.js';
import { badge, card, el, formatBytes, meter, muted, riskLevel, table } from '../dom.js';
import { mergeDisks, poolHealth, stateLevel } from '../model.js';

export const title = 'Overview';

export async function render() {
  const [status, pool, health, plans] = await Promise.all([
    getJson('/api/v1/status', { optional: true }),
    getJson('/api/v1/pool', { optional: true }),
    getJson('/api/v1/disks', { optional: true }),
    getJson('/api/v1/plans', { optional: true }),
  ]);
  return [poolCard(pool), disksCard(pool, health), alertsCard(status, health, plans), plansCard(plans)];
}

function poolCard(pool) {
  if (!pool) return card('Pool', muted('No pool is configured. Add a [pool] section and run `tiercel pool create`.'));
  const health = poolHealth(pool);
  const capacity = pool.disks.reduce((sum, d) => sum + d.capacity_bytes, 0);
  const used = pool.disks.reduce((sum, d) => sum + d.used_bytes, 0);
  return card({ title: `Pool ${pool.name}`, id: 'pool-card' },
    el('p', { id: 'pool-health', class: `health ${health.cls}` }, health.label),
    el('p', {}, `${pool.k}+${pool.m} · ${pool.objects} objects · ${formatBytes(pool.logical_bytes)} stored · `,
      `stripes: ${pool.stripes.healthy} healthy, ${pool.stripes.degraded} degraded, ${pool.stripes.lost} lost`),
    meter(capacity ? used / capacity : 0, { label: 'raw capacity used', level: health.cls }),
    el('p', { class: 'muted' }, `${formatBytes(used)} of ${formatBytes(capacity)} raw capacity used`),
    pool.maintenance ? el('p', {}, `Maintenance: ${pool.maintenance.operation} ${pool.maintenance.state}`) : null);
}

function disksCard(pool, health) {
  const disks = mergeDisks(pool, health);
  if (!disks.length) return card('Disks', muted('No disks: neither a pool nor a health service is configured.'));
  const rows = disks.map((d) => [
    el('a', { href: `#disks/${encodeURIComponent(d.id)}` }, d.name),
    d.tier || '',
    d.online ? d.state : 'OFFLINE',
    d.free_bytes === undefined ? '–' : formatBytes(d.free_bytes),
    d.risk ? badge(d.risk.level.replace('_', ' '), riskLevel[d.risk.level] || 'muted') : badge('no SMART', 'muted'),
    d.temperature_c === null || d.temperature_c === undefined ? '–' : `${d.temperature_c} °C`,
    { row: { 'data-disk': d.name, class: d.risk && d.risk.level === 'at_risk' ? 'at-risk' : undefined } },
  ]);
  return card('Disks', table(['disk', 'tier', 'state', 'free', 'risk', 'temp'], rows, { id: 'overview-disks' }));
}

// The daemon's alerts (/api/v1/status, else the planner's), plus one per disk at risk that none of them names.
function alertsCard(status, health, plans) {
  const alerts = [];
  if (status && Array.isArray(status.alerts)) alerts.push(...status.alerts);
  else for (const message of (plans && plans.alerts) || []) alerts.push({ level: 'warning', message });
  for (const d of (health && health.disks) || []) {
    if (d.risk.level !== 'at_risk' && d.risk.level !== 'failing') continue;
    if (alerts.some((a) => String(a.message || a).includes(d.name))) continue;
    alerts.push({ level: 'critical', message: `${d.name} is ${d.risk.level.replace('_', ' ')} (risk ${d.risk.score})` });
  }
  if (!alerts.length) return card({ title: 'Alerts', id: 'alerts' }, muted('No alerts.'));
  return card({ title: 'Alerts', id: 'alerts' }, el('ul', { class: 'alerts' }, alerts.map((a) =>
    el('li', { class: a.level === 'critical' ? 'bad' : 'warn' }, typeof a === 'string' ? a : a.message))));
}

function plansCard(plans) {
  if (!plans) return card('Plans', muted('The daemon runs no planner.'));
  const open = plans.plans.filter((p) => ['proposed', 'approved', 'running'].includes(p.state));
  if (!open.length) return card({ title: 'Plans', id: 'pending-plans' }, muted('Nothing waiting for a decision.'));
  return card({ title: 'Plans waiting or running', id: 'pending-plans' }, el('ul', { class: 'plain' }, open.map((p) =>
    el('li', {}, el('a', { href: `#plans/${p.id}` }, `#${p.id} ${p.action} ${p.target}`), ' ', badge(p.state, stateLevel(p.state)),
      el('div', { class: 'muted' }, p.reason)))));
}
