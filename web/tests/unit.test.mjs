// Unit tests of the dashboard's pure helpers, with Node's built-in runner: `node --test web/tests/`.
// (Pages and the DOM are exercised in a real browser by tests/e2e/test_dashboard.py.)
import assert from 'node:assert/strict';
import test from 'node:test';

import { formatBytes, formatDuration, toDate } from '../src/dom.js';
import { parseSseBlock } from '../src/live.js';
import { mergeDisks, poolHealth } from '../src/model.js';

test('SSE blocks: id, named event, multi-line data, comments', () => {
  assert.deepEqual(parseSseBlock('id: 7\nevent: plan.state\ndata: {"a":1}'), { id: '7', type: 'plan.state', data: '{"a":1}' });
  assert.deepEqual(parseSseBlock('data: one\ndata: two'), { id: null, type: 'message', data: 'one\ntwo' });
  assert.equal(parseSseBlock(': keep-alive'), null, 'a comment-only block is no event');
  assert.equal(parseSseBlock('data:x').data, 'x', 'the space after the colon is optional');
});

test('times in seconds, milliseconds, nanoseconds and ISO strings', () => {
  const when = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.equal(toDate(when / 1000).getTime(), when);
  assert.equal(toDate(when).getTime(), when);
  assert.equal(toDate(when * 1e6).getTime(), when);
  assert.equal(toDate(new Date(when).toISOString()).getTime(), when);
  assert.equal(toDate(null), null);
});

test('formatting', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(10 * 2 ** 30), '10 GiB');
  assert.equal(formatDuration(0.25), '250 ms');
  assert.equal(formatDuration(90), '90.0 s');
  assert.equal(formatDuration(600), '10 min');
});

const disk = (name, extra = {}) => ({ name, tier: 'hdd', state: 'active', online: true, free_bytes: 1, ...extra });
const pool = (disks, stripes = { healthy: 3, degraded: 0, lost: 0 }) => ({ disks, stripes });

test('pool health: lost beats degraded beats healthy', () => {
  assert.equal(poolHealth(pool([disk('a')])).label, 'healthy');
  assert.equal(poolHealth(pool([disk('a', { online: false })])).label, 'degraded');
  assert.equal(poolHealth(pool([disk('a')], { healthy: 1, degraded: 1, lost: 0 })).label, 'degraded');
  assert.equal(poolHealth(pool([disk('a')], { healthy: 1, degraded: 1, lost: 1 })).label, 'DATA LOST');
});

test('disks from the pool and the health service are joined by name', () => {
  const health = { disks: [
    { id: 'disk1', name: 'disk1', risk: { level: 'at_risk', score: 0.5 }, smart: { temperature_c: 40 } },
    { id: 'watch0', name: 'watch0', tier: '', state: 'watched', online: true, risk: { level: 'unknown', score: 0 }, smart: {} },
  ] };
  const merged = mergeDisks(pool([disk('disk0'), disk('disk1')]), health);
  assert.deepEqual(merged.map((d) => d.name), ['disk0', 'disk1', 'watch0']);
  assert.equal(merged[1].risk.level, 'at_risk');
  assert.equal(merged[1].temperature_c, 40);
  assert.equal(merged[0].risk, undefined, 'a disk without SMART data has no risk');
  assert.deepEqual(mergeDisks(null, null), []);
});
