// Plans: what the planner proposes and why. The list links to each plan (#plans/<id>): its reason, explanation,
// facts, the candidates it rejected, budget, progress, audit trail, and Approve and Reject buttons while a person
// must decide. A dry run shows what the planner would do now without storing anything.
import { ApiError, getJson, postJson, session } from '../api.js';
import { badge, card, el, formatBytes, formatDuration, formatTime, meter, muted, table } from '../dom.js';
import { stateLevel } from '../model.js';

export const title = 'Plans';

let dryRun = null;  // the last dry run's result, shown until the page is left
let notice = null;  // the outcome of the last button press

export async function render(arg) {
  const list = await getJson('/api/v1/plans', { optional: true });
  if (!list) return [card('Plans', muted('The daemon runs no planner.'))];
  const out = [];
  if (notice) out.push(el('p', { id: 'plan-notice', class: `notice ${notice.cls}`, role: 'status' }, notice.text));
  if (arg) out.push(...planDetail(await getJson(`/api/v1/plans/${encodeURIComponent(arg)}`)));
  out.push(listCard(list, arg), dryRunCard());
  return out;
}

function listCard(list, selected) {
  const rows = [...list.plans].reverse().map((p) => [
    el('a', { href: `#plans/${p.id}`, 'aria-current': String(p.id) === selected ? 'true' : undefined }, `#${p.id}`),
    p.action, p.target, badge(p.state, stateLevel(p.state)), p.reason, formatTime(p.created),
    { row: { 'data-plan': p.id, 'data-state': p.state } }]);
  return card({ title: 'Plans', id: 'plan-list' },
    (list.alerts || []).length ? el('ul', { class: 'alerts' }, list.alerts.map((a) => el('li', { class: 'warn' }, a))) : null,
    rows.length ? table(['plan', 'action', 'target', 'state', 'reason', 'created'], rows, { id: 'plans-table' })
      : muted('The planner has proposed nothing: every disk looks fine.'));
}

function planDetail(plan) {
  const decide = plan.state === 'proposed';
  return [card({ title: `Plan #${plan.id}: ${plan.action} ${plan.target}`, id: 'plan-detail' },
    el('p', {}, badge(plan.state, stateLevel(plan.state)), ' ', plan.reason),
    el('p', { id: 'plan-state', 'data-state': plan.state, class: 'muted' }, `state: ${plan.state}`,
      plan.decided_by ? ` · decided by ${plan.decided_by}${plan.decision_reason ? ` (${plan.decision_reason})` : ''}` : '',
      plan.auto_approved ? ' · approved automatically' : ''),
    el('h3', {}, 'Why'),
    el('ul', { class: 'explanation', id: 'plan-explanation' }, plan.explanation.map((line) => el('li', {}, line))),
    plan.expected_effect ? el('p', {}, el('strong', {}, 'Expected effect: '), plan.expected_effect) : null,
    el('p', { class: 'muted' }, `Budget: ${plan.budget.bytes ? formatBytes(plan.budget.bytes) : 'no byte limit'}, `,
      plan.budget.seconds ? formatDuration(plan.budget.seconds) : 'no time limit'),
    plan.progress ? progress(plan.progress) : null,
    plan.result ? el('p', { id: 'plan-result' }, el('strong', {}, 'Result: '), plan.result) : null,
    decide ? buttons(plan) : null),
  card('Facts', table(['fact', 'value', 'detail'], plan.facts.map((f) => [el('code', {}, f.fact), String(f.value), f.detail]))),
  card({ title: 'Rejected candidates', id: 'plan-rejected' }, plan.rejected_candidates.length
    ? table(['action', 'target', 'guard', 'why not'], plan.rejected_candidates.map((r) => [r.action, r.target, r.guard, r.reason]))
    : muted('No other candidate was considered.')),
  card('Audit trail', table(['time', 'event', 'by', 'detail'], (plan.audit || []).map((a) =>
    [formatTime(a.time), a.event, a.actor || a.by || '', a.detail || '']), { id: 'plan-audit' }))];
}

function progress(p) {
  const fraction = p.total_bytes ? p.done_bytes / p.total_bytes : 0;
  return el('div', {}, meter(fraction, { label: 'plan progress', level: 'info' }), el('p', { class: 'muted' },
    `${formatBytes(p.done_bytes)} of ${formatBytes(p.total_bytes)}`, p.eta_seconds ? ` · about ${formatDuration(p.eta_seconds)} left` : ''));
}

function buttons(plan) {
  const reason = el('input', { id: 'decision-reason', type: 'text', placeholder: 'reason (optional)', 'aria-label': 'reason' });
  const press = (verb) => async (event) => {
    event.target.disabled = true;
    try {
      const after = await postJson(`/api/v1/plans/${plan.id}/${verb}`, { by: 'dashboard', reason: reason.value });
      notice = { cls: 'ok', text: `Plan #${plan.id} ${verb === 'approve' ? 'approved' : 'rejected'}: now ${after.state}.` };
    } catch (error) {
      notice = { cls: 'bad', text: explain(error) };
      if (error instanceof ApiError && error.status === 401) location.hash = `#login/${encodeURIComponent(`#plans/${plan.id}`)}`;
    }
    window.dispatchEvent(new Event('tiercel:refresh'));
  };
  return el('div', { class: 'decide' },
    session.known && !session.authenticated && session.mutationsNeedLogin
      ? el('p', { class: 'muted' }, el('a', { href: `#login/${encodeURIComponent(`#plans/${plan.id}`)}` }, 'Log in'), ' to decide.')
      : null,
    reason,
    el('button', { id: 'approve', type: 'button', class: 'primary', onclick: press('approve') }, 'Approve'),
    el('button', { id: 'reject', type: 'button', class: 'danger', onclick: press('reject') }, 'Reject'));
}

function explain(error) {
  if (!(error instanceof ApiError)) return `Failed: ${error.message}`;
  if (error.status === 401) return 'Log in first: changes need the API token.';
  if (error.code === 'csrf') return 'The session expired: log in again.';
  return `${error.message} (${error.code})`;
}

function dryRunCard() {
  const run = async (event) => {
    event.target.disabled = true;
    try {
      dryRun = await postJson('/api/v1/plans/dry-run', {});
    } catch (error) {
      dryRun = { error: explain(error) };
    }
    window.dispatchEvent(new Event('tiercel:refresh'));
  };
  const body = [el('button', { id: 'dry-run', type: 'button', onclick: run }, 'Dry run now')];
  if (dryRun && dryRun.error) body.push(el('p', { class: 'health bad' }, dryRun.error));
  else if (dryRun) {
    body.push(el('h3', {}, 'Would run'), dryRun.would_run.length
      ? el('ul', { class: 'plain' }, dryRun.would_run.map((p) => el('li', {}, `${p.action} ${p.target}: ${p.reason}`)))
      : muted('Nothing.'));
    body.push(el('h3', {}, 'Rejected'), dryRun.rejected.length
      ? table(['action', 'target', 'guard', 'why not'], dryRun.rejected.map((r) => [r.action, r.target, r.guard, r.reason]))
      : muted('Nothing rejected.'));
  }
  return card({ title: 'Dry run', id: 'dry-run-card' }, muted('What the planner would do now, without storing or running anything.'), body);
}

export function leave() {
  dryRun = null;
  notice = null;
}
