// Drives the dashboard in Debian's headless Chromium through playwright-core (no bundled browser).
// Called by test_dashboard.py, which owns the daemon; this script only uses the browser, as a person would.
//
//   node dashboard.mjs full      log in, see disk3 at risk, open its plan and explanation, approve it by clicking,
//                                watch it reach "verified", screenshot every page (desktop and phone)
//   node dashboard.mjs degraded  the overview of a pool with a disk directory gone says "degraded"
//
// Environment: TIERCEL_URL, TIERCEL_TOKEN, TIERCEL_ARTIFACTS, TIERCEL_NODE_MODULES, CHROMIUM, DEGRADING (disk name),
// TIERCEL_HSM_PATH (the watched filesystem).
// Output: one line per check ("ok ..." / "FAIL ..."), then a last line "RESULT <json>" for the Python side.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.TIERCEL_NODE_MODULES, 'resolve-from-here.js'));
const { chromium } = require('playwright-core');

const BASE = process.env.TIERCEL_URL;
const TOKEN = process.env.TIERCEL_TOKEN;
const ARTIFACTS = process.env.TIERCEL_ARTIFACTS;
const DEGRADING = process.env.DEGRADING || 'disk3';
const PAGES = ['overview', 'disks', 'pool', 'tiering', 'plans', 'events', 'login'];
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

const failures = [];
const result = { failures };

function check(condition, message) {
  console.log(`${condition ? 'ok' : 'FAIL'} ${message}`);
  if (!condition) failures.push(message);
  return condition;
}

// Waits for an assertion on the page; a timeout is a recorded failure, not an exception, so every check runs.
async function expectSoon(what, fn, timeout = 30000) {
  try {
    await fn(timeout);
    return check(true, what);
  } catch (error) {
    return check(false, `${what}: ${error.message.split('\n')[0]}`);
  }
}

async function routeStatus(method, route, body) {
  const response = await fetch(BASE + route, { method, headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return response.status;
}

async function newPage(browser, options, headers) {
  const context = await browser.newContext({ ...options, extraHTTPHeaders: headers });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    // 404s are expected from optional routes (a daemon without HSM, events, ...); anything else is a bug.
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) page.problems.push(text);
  });
  return page;
}

async function show(page, hash) {
  await page.goto(`${BASE}/#${hash}`);
  await page.waitForFunction((name) => document.body.dataset.page === name && document.body.dataset.rendered,
    hash.split('/')[0], { timeout: 15000 });
}

async function screenshots(browser, headers, planId) {
  const shots = PAGES.map((name) => [name, name]);
  if (planId) shots.push([`plans/${planId}`, 'plan-detail']);
  for (const [kind, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const page = await newPage(browser, options, headers);
    for (const [hash, name] of shots) {
      await show(page, hash);
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${kind}.png`), fullPage: true });
      if (kind === 'phone') {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        check(overflow <= 1, `${name} fits a phone's width (overflow ${overflow}px)`);
      }
    }
    check(page.problems.length === 0, `no script errors or CSP violations (${kind}): ${page.problems.join(' | ')}`);
    await page.context().close();
  }
}

// Logs in through the login page. A daemon without /api/v1/login (before the auth work is merged) gets the
// bearer token as a request header instead, and says so: the rest of the test is the same.
async function logIn(browser) {
  const loginStatus = await routeStatus('POST', '/api/v1/login', { token: 'not-the-token' });
  if (loginStatus === 404) {
    console.log('NOTE /api/v1/login answers 404: this daemon has no dashboard login; using the bearer token header');
    result.login = 'bearer-fallback';
    const headers = { Authorization: `Bearer ${TOKEN}` };
    return { page: await newPage(browser, DESKTOP, headers), headers };
  }
  check(loginStatus === 401, `a wrong token is refused by /api/v1/login (${loginStatus})`);
  const page = await newPage(browser, DESKTOP);
  await show(page, 'login');
  await page.fill('#token', 'wrong-token-wrong-token');
  await page.click('#login-form button[type=submit]');
  await expectSoon('the login page says a wrong token is wrong', (timeout) =>
    page.locator('#login-message.bad').waitFor({ timeout }));
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await expectSoon('logging in leads to the overview with a Log out button', async (timeout) => {
    await page.waitForFunction(() => document.body.dataset.page === 'overview', null, { timeout });
    await page.locator('#session button', { hasText: 'Log out' }).waitFor({ timeout });
  });
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'tiercel_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', `the session cookie is HttpOnly, SameSite=Strict`);
  result.login = 'cookie';
  return { page, headers: undefined };
}

async function overviewShowsRisk(page) {
  await show(page, 'overview');
  await expectSoon('overview shows the pool as healthy', (timeout) =>
    page.locator('#pool-health', { hasText: 'healthy' }).waitFor({ timeout }));
  const text = await page.locator('#page').innerText();
  check(text.includes('Pool e2e') && /\d+ objects/.test(text), 'overview names the pool and counts its objects');
  const rows = await page.locator('#overview-disks tbody tr').count();
  check(rows >= 8, `overview lists every disk (${rows} rows)`);
  await expectSoon(`overview shows ${DEGRADING} at risk`, (timeout) =>
    page.locator(`#overview-disks tr[data-disk="${DEGRADING}"] .badge`, { hasText: /at risk|failing/ }).waitFor({ timeout }), 60000);
  await expectSoon('overview shows an alert about it', (timeout) =>
    page.locator('#alerts li', { hasText: DEGRADING }).first().waitFor({ timeout }));
}

async function disksShowRisk(page) {
  await show(page, `disks/${DEGRADING}`);
  await expectSoon(`disks page: ${DEGRADING} detail says at risk and names attribute 5`, async (timeout) => {
    await page.locator('#disk-detail h2', { hasText: /at risk|failing/ }).waitFor({ timeout });
    await page.locator('#disk-detail .explanation', { hasText: 'ata.5' }).waitFor({ timeout });
  });
  const attribute = await page.locator('#smart-attributes tr[data-attribute="5"]').innerText();
  check(attribute.includes('Reallocated_Sector_Ct'), `SMART attribute 5 is listed: ${attribute}`);
  const charts = await page.locator('#page svg.chart').count();
  check(charts >= 2, `temperature and latency charts are drawn (${charts})`);
}

async function tieringShowsHsm(page) {
  const mount = process.env.TIERCEL_HSM_PATH;
  await show(page, 'tiering');
  await expectSoon('tiering page shows the hot filesystem against its water marks', (timeout) =>
    page.locator('#hsm-watched', { hasText: mount }).locator('.meter .mark').nth(1).waitFor({ timeout }));
  await expectSoon('tiering page counts archived files and lists the recalls', async (timeout) => {
    await page.locator('#hsm-states', { hasText: 'archived only' }).waitFor({ timeout });
    await page.locator('#hsm-recalls tbody tr').nth(1).waitFor({ timeout });
  });
  await expectSoon('two of the four archived files are stubs, two were recalled', (timeout) =>
    page.locator('#hsm-split', { hasText: /^2 resident, 2 archived only/ }).waitFor({ timeout }));
  check(await page.locator('#hsm-recalls svg.chart path.series').count() === 1, 'the recall latency chart is drawn');
}

async function approvePlan(page) {
  await show(page, 'plans');
  const row = page.locator(`#plans-table tr[data-state="proposed"]`, { hasText: DEGRADING }).filter({ hasText: 'drain' });
  if (!(await expectSoon(`the plans page lists a proposed drain of ${DEGRADING}`, (timeout) => row.first().waitFor({ timeout }), 90000)))
    return null;
  const id = Number(await row.first().getAttribute('data-plan'));
  await row.first().locator('a').click();
  await expectSoon('the plan opens with its explanation naming attribute 5 and its trend', async (timeout) => {
    await page.locator('#plan-explanation', { hasText: 'Reallocated_Sector_Ct' }).waitFor({ timeout });
    await page.locator('#plan-explanation', { hasText: 'rising over' }).waitFor({ timeout });
  });
  check(await page.locator('#plan-rejected').isVisible(), 'the plan shows its rejected candidates');
  await page.screenshot({ path: path.join(ARTIFACTS, 'plan-proposed-desktop.png'), fullPage: true });
  await page.click('#approve');
  await expectSoon('clicking Approve reports the plan approved', (timeout) =>
    page.locator('#plan-notice.ok', { hasText: 'approved' }).waitFor({ timeout }));
  const states = new Set();
  const started = Date.now();
  await expectSoon('the plan reaches "verified" in the page', async (timeout) => {
    await page.waitForFunction(() => {
      const node = document.querySelector('#plan-state');
      if (node) (window.seenStates ||= new Set()).add(node.dataset.state);
      return node && ['verified', 'failed'].includes(node.dataset.state);
    }, null, { timeout, polling: 100 });
    await page.locator('#plan-state[data-state="verified"]').waitFor({ timeout: 1000 });
  }, 150000);
  for (const state of await page.evaluate(() => [...(window.seenStates || [])])) states.add(state);
  result.seconds_to_verified = (Date.now() - started) / 1000;
  result.states_seen = [...states];
  await page.screenshot({ path: path.join(ARTIFACTS, 'plan-verified-desktop.png'), fullPage: true });
  return id;
}

// The event log and its stream arrive with the REST API work; when the daemon has them, the page must use them.
async function eventsAndLiveMode(page) {
  const controller = new AbortController();
  const stream = await fetch(`${BASE}/api/v1/events/stream`, { signal: controller.signal }).catch(() => null);
  controller.abort();
  result.live = await page.evaluate(() => document.body.dataset.live);
  if (stream && stream.status === 200)
    check(result.live === 'live', `the daemon has an event stream and the page follows it live (${result.live})`);
  else
    console.log(`NOTE /api/v1/events/stream answers ${stream && stream.status}: the page polls every 5 s (${result.live})`);
  if ((await routeStatus('GET', '/api/v1/events?limit=1')) !== 200) {
    console.log('NOTE /api/v1/events is missing: the events page says so');
    return;
  }
  await show(page, 'events');
  await expectSoon('the events page lists the daemon\'s events', (timeout) =>
    page.locator('#event-table tbody tr').first().waitFor({ timeout }));
}

async function full(browser) {
  const { page, headers } = await logIn(browser);
  await overviewShowsRisk(page);
  await page.screenshot({ path: path.join(ARTIFACTS, 'overview-at-risk-desktop.png'), fullPage: true });
  await disksShowRisk(page);
  await tieringShowsHsm(page);
  result.plan_id = await approvePlan(page);
  await eventsAndLiveMode(page);
  check(page.problems.length === 0, `no script errors or CSP violations while approving: ${page.problems.join(' | ')}`);
  await page.context().close();
  await screenshots(browser, headers, result.plan_id);
}

async function degraded(browser) {
  const page = await newPage(browser, DESKTOP);
  await show(page, 'overview');
  await expectSoon('with a disk directory removed the overview says degraded and OFFLINE', async (timeout) => {
    await page.locator('#pool-health', { hasText: 'degraded' }).waitFor({ timeout });
    await page.locator('#overview-disks td', { hasText: 'OFFLINE' }).first().waitFor({ timeout });
  });
  await page.screenshot({ path: path.join(ARTIFACTS, 'overview-degraded-desktop.png'), fullPage: true });
  await page.context().close();
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  await (process.argv[2] === 'degraded' ? degraded : full)(browser);
} catch (error) {
  check(false, `unexpected error: ${error.stack}`);
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(failures.length ? 1 : 0);
