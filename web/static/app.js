// Dashboard shell: navigation between pages and the daemon's health. Pages fill in as modules land.
const pages = {
  overview: { title: 'Overview', text: 'Pool health, disks, alerts and pending plans at a glance.' },
  disks: { title: 'Disks', text: 'SMART attributes, latency and temperature of every disk.' },
  pool: { title: 'Pool', text: 'Capacity by tier, redundancy and maintenance progress.' },
  tiering: { title: 'Tiering', text: 'Hot filesystem usage against the water marks, archives and recalls.' },
  plans: { title: 'Plans', text: 'Maintenance the planner proposes, with explanations, to approve or reject.' },
  events: { title: 'Events', text: 'What happened, newest first.' },
};

function render(name) {
  const page = pages[name] || pages.overview;
  const main = document.getElementById('page');
  main.replaceChildren();
  const card = document.createElement('section');
  card.className = 'card';
  const heading = document.createElement('h2');
  heading.textContent = page.title;
  const body = document.createElement('p');
  body.className = 'muted';
  body.textContent = page.text;
  card.append(heading, body);
  main.append(card);
  for (const link of document.querySelectorAll('#nav a'))
    link.classList.toggle('active', link.dataset.page === name);
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
