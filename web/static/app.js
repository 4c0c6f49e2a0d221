// Dashboard: navigation between pages, the daemon's health, and the pool's state from /api/v1/pool.
// Pages that depend on modules not yet hosted by the daemon say so instead of showing empty tables.
const pages = {
  overview: { title: 'Overview', render: renderOverview },
  disks: { title: 'Disks', render: renderDisks },
  pool: { title: 'Pool', render: renderPool },
  tiering: { title: 'Tiering', text: 'The HSM (hot filesystems, archives and recalls) is not hosted by this daemon yet.' },
  plans: { title: 'Plans', text: 'The planner is not hosted by this daemon yet: no maintenance plans to approve.' },
  events: { title: 'Events', text: 'The event log is not hosted by this daemon yet.' },
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function card(title, ...children) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...children);
}

function table(headers, rows) {
  const head = el('tr', {}, ...headers.map((h) => el('th', {}, h)));
  return el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head),
    el('tbody', {}, ...rows.map((row) => el('tr', {}, ...row.map((cell) => el('td', {}, cell)))))));
}

async function fetchPool() {
  const response = await fetch('/api/v1/pool');
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`pool status: HTTP ${response.status}`);
  return response.json();
}

function poolHealth(pool) {
  if (pool.stripes.lost > 0) return { label: 'DATA LOST', cls: 'bad' };
  const offline = pool.disks.filter((d) => !d.online).length;
  if (pool.stripes.degraded > 0 || offline > 0) return { label: 'degraded', cls: 'warn' };
  return { label: 'healthy', cls: 'ok' };
}

function diskRows(pool) {
  return pool.disks.map((d) => [d.name, d.path, d.tier, d.online ? d.state : `offline: ${d.offline_reason}`,
    formatBytes(d.capacity_bytes), formatBytes(d.free_bytes), d.shards, d.latency_ms.toFixed(2),
    `${d.read_errors}/${d.write_errors}/${d.checksum_errors}`, d.meta_replica ? 'yes' : '']);
}

const diskHeaders = ['disk', 'path', 'tier', 'state', 'capacity', 'free', 'shards', 'latency ms', 'errors r/w/csum', 'metadata'];

function noPoolCard() {
  return card('Pool', el('p', { class: 'muted' }, 'No pool is configured. Add a [pool] section and run `tiercel pool create`.'));
}

async function renderOverview(main) {
  const pool = await fetchPool();
  if (!pool) return main.append(noPoolCard());
  const health = poolHealth(pool);
  main.append(card(`Pool ${pool.name}`,
    el('p', { id: 'pool-health', class: `health ${health.cls}` }, health.label),
    el('p', {}, `${pool.k}+${pool.m} · ${pool.objects} objects · ${formatBytes(pool.logical_bytes)} stored · `,
      `stripes: ${pool.stripes.healthy} healthy, ${pool.stripes.degraded} degraded, ${pool.stripes.lost} lost`)));
  main.append(card('Disks', table(['disk', 'tier', 'state', 'free', 'errors r/w/csum'],
    pool.disks.map((d) => [d.name, d.tier, d.online ? d.state : 'OFFLINE', formatBytes(d.free_bytes),
      `${d.read_errors}/${d.write_errors}/${d.checksum_errors}`]))));
}

async function renderDisks(main) {
  const pool = await fetchPool();
  if (!pool) return main.append(noPoolCard());
  main.append(card('Disks', table(diskHeaders, diskRows(pool)),
    el('p', { class: 'muted' }, 'SMART data arrives with the health service.')));
}

async function renderPool(main) {
  const pool = await fetchPool();
  if (!pool) return main.append(noPoolCard());
  const byTier = {};
  for (const d of pool.disks) {
    byTier[d.tier] ??= { capacity: 0, free: 0 };
    byTier[d.tier].capacity += d.capacity_bytes;
    byTier[d.tier].free += d.free_bytes;
  }
  main.append(card('Capacity by tier', table(['tier', 'capacity', 'free'],
    Object.entries(byTier).map(([tier, t]) => [tier, formatBytes(t.capacity), formatBytes(t.free)]))));
  main.append(card('Redundancy', el('p', {}, `${pool.k} data + ${pool.m} parity shards per stripe; `,
    `any ${pool.m} disks may fail. Compression ${pool.compression}${pool.encrypted ? ', encrypted' : ''}.`),
    el('p', {}, `Metadata at sequence ${pool.metadata.sequence} on `,
      pool.metadata.replicas.map((r) => r.disk + (r.healthy ? '' : ' (stale)')).join(', '))));
  main.append(card('Disks', table(diskHeaders, diskRows(pool))));
}

async function render(name) {
  const page = pages[name] || pages.overview;
  const main = document.getElementById('page');
  main.replaceChildren();
  for (const link of document.querySelectorAll('#nav a'))
    link.classList.toggle('active', link.dataset.page === (pages[name] ? name : 'overview'));
  if (!page.render) return main.append(card(page.title, el('p', { class: 'muted' }, page.text)));
  try {
    await page.render(main);
  } catch (error) {
    main.append(card(page.title, el('p', { class: 'health bad' }, `Could not load: ${error.message}`)));
  }
}

async function refreshHealth() {
  const status = document.getElementById('daemon-status');
  try {
    const response = await fetch('/api/v1/health');
    const body = await response.json();
    status.textContent = `daemon ${body.status} · v${body.version}`;
    status.className = 'status ok';
  } catch (error) {
    status.textContent = 'daemon unreachable';
    status.className = 'status bad';
  }
}

window.addEventListener('hashchange', () => render(location.hash.slice(1)));
render(location.hash.slice(1));
refreshHealth();
setInterval(refreshHealth, 5000);
setInterval(() => render(location.hash.slice(1)), 15000);
