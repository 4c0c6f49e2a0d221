// Derived views of the daemon's resources that several pages share.

export function poolHealth(pool) {
  if (pool.stripes.lost > 0) return { label: 'DATA LOST', cls: 'bad' };
  const offline = pool.disks.filter((d) => !d.online).length;
  if (pool.stripes.degraded > 0 || offline > 0) return { label: 'degraded', cls: 'warn' };
  return { label: 'healthy', cls: 'ok' };
}

// One row per disk: the pool's view (capacity, state, errors) joined with the health service's (SMART, risk) by
// name; disks only one side knows (a watched non-pool path, a pool without health service) still appear.
export function mergeDisks(pool, health) {
  const byName = new Map();
  for (const d of (pool && pool.disks) || []) byName.set(d.name, { ...d, id: d.name });
  for (const h of (health && health.disks) || []) {
    const base = byName.get(h.name) || { name: h.name, tier: h.tier, state: h.state, online: h.online,
      free_bytes: h.free_bytes };
    byName.set(h.name, { ...base, id: h.id, risk: h.risk, temperature_c: h.smart.temperature_c, smart: h.smart });
  }
  return [...byName.values()];
}

export function stateLevel(state) {
  return { proposed: 'warn', approved: 'info', running: 'info', verified: 'ok', failed: 'bad', rejected: 'muted' }[state] ||
    'muted';
}
