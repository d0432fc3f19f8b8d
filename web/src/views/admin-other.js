// The admin console's cross-event screens: analytics (dashboard, comparison as charts), the claims review queue,
// and role management.
import { useState } from 'preact/hooks';
import { enc, get, post, query } from '../lib/api.js';
import { formatDecimal, formatRate } from '../lib/decimal.js';
import { formatCount, formatTime } from '../lib/format.js';
import { Chart, ErrorBox, Link, Notice, ReasonAction, Select, Status, TextInput, html, useLoad } from '../lib/ui.js';

export function Analytics() {
  const [days, setDays] = useState('30');
  const [dash, error] = useLoad(() => get(`/api/events/analytics/dashboard${query({ days, limit: 50 })}`), [days]);
  const [chosen, setChosen] = useState([]);
  const [comparison, setComparison] = useState(null);
  const [compareError, setCompareError] = useState(null);
  const events = dash ? [...dash.live, ...dash.recent] : [];
  const toggle = (id) => setChosen((old) => (old.includes(id) ? old.filter((x) => x !== id) : [...old, id].slice(-10)));
  const compare = async () => {
    setCompareError(null);
    try {
      setComparison(await get(`/api/events/analytics/compare${query({ ids: chosen.join(',') })}`));
    } catch (failure) {
      setCompareError(failure);
    }
  };
  return html`<section>
    <h1>Analytics</h1>
    <${Select} label="Period" name="days" value=${days} onChange=${setDays} options=${[['7', 'last 7 days'], ['30', 'last 30 days'], ['90', 'last 90 days']]} />
    <${ErrorBox} error=${error} />
    ${dash
      ? html`<dl class="facts">
            <div><dt>Volume</dt><dd>${formatDecimal(dash.totals.volume)}</dd></div>
            <div><dt>Trades</dt><dd>${formatCount(dash.totals.trades)}</dd></div>
            <div><dt>Participants</dt><dd>${formatCount(dash.participants)}</dd></div>
            <div><dt>Participation rate</dt><dd>${formatRate(dash.participation_rate)}</dd></div>
          </dl>
          <${Chart} title="Volume per day" labels=${dash.daily.map((p) => new Date(p.start).getTime() / 1000)} series=${[{ label: 'volume', values: dash.daily.map((p) => Number(p.volume)) }]} bars />
          <table><caption>Running and recent events (choose 2 to 10 to compare)</caption>
            <thead><tr><th scope="col">Compare</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Participants</th><th scope="col" class="num">Participation</th></tr></thead>
            <tbody>${events.map((e) => html`<tr>
              <td><input type="checkbox" id=${`cmp-${e.event_id}`} checked=${chosen.includes(e.event_id)} onChange=${() => toggle(e.event_id)} aria-label=${`Compare ${e.name}`} /></td>
              <td><${Link} href=${`/admin/events/${enc(e.event_id)}/analytics`}>${e.name}</${Link}></td><td><${Status} value=${e.status} /></td>
              <td class="num">${formatDecimal(e.volume)}</td><td class="num">${formatCount(e.participants)}</td><td class="num">${formatRate(e.participation_rate)}</td></tr>`)}</tbody>
          </table>
          <button type="button" class="primary" disabled=${chosen.length < 2} onClick=${compare}>Compare ${chosen.length} events</button>`
      : null}
    <${ErrorBox} error=${compareError} />
    ${comparison
      ? html`<section data-testid="comparison"><h2>Comparison</h2>
          <${Chart} title="Volume by event" bars times=${false} labels=${comparison.events.map((e) => e.name)} series=${[{ label: 'volume', values: comparison.events.map((e) => Number(e.volume)) }]} />
          <table><thead><tr><th scope="col">Event</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Participants</th><th scope="col" class="num">Participation</th><th scope="col" class="num">Lift</th><th scope="col" class="num">ROI</th></tr></thead>
            <tbody>${comparison.events.map((e) => html`<tr><td>${e.name}</td><td class="num">${formatDecimal(e.volume)}</td><td class="num">${formatCount(e.trades)}</td>
              <td class="num">${formatCount(e.participants)}</td><td class="num">${formatRate(e.participation_rate)}</td><td class="num">${formatRate(e.lift)}</td><td class="num">${formatRate(e.roi)}</td></tr>`)}</tbody></table>
          <p>Best: ${Object.entries(comparison.best || {}).map(([metric, id]) => html`<span class="pill">${metric}: ${(comparison.events.find((e) => e.event_id === id) || {}).name || id}</span>`)}</p>
        </section>`
      : null}
  </section>`;
}

export function Reviews() {
  const [queue, error, reload] = useLoad(() => get('/api/events/prizes/reviews?limit=50'), []);
  const [notice, setNotice] = useState(null);
  const decide = (item, decision) => async (reason) => {
    const state = await post(`/api/events/prizes/${enc(item.prize_id)}/review`, { decision, reason });
    setNotice(`${item.user_id}'s claim: ${state.status}`);
    reload();
  };
  return html`<section>
    <h1>Claims review</h1>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
    ${queue && queue.items.length === 0 ? html`<p class="muted">No claims wait for review.</p>` : null}
    ${queue
      ? html`<table><thead><tr><th scope="col">Queued</th><th scope="col">User</th><th scope="col">Event</th><th scope="col" class="num">Amount</th><th scope="col">Why held</th><th scope="col">Decision</th></tr></thead>
          <tbody>${queue.items.map((item) => html`<tr data-prize=${item.prize_id}><td>${formatTime(item.queued_at)}</td><td>${item.user_id}</td>
            <td><${Link} href=${`/admin/events/${enc(item.event_id)}/prizes`}>${item.event_id}</${Link}></td>
            <td class="num">${formatDecimal(item.amount)} ${item.type}</td><td>${item.reasons.join(', ')}</td>
            <td><${ReasonAction} label="Approve" name=${`approve-${item.user_id}`} onConfirm=${decide(item, 'approve')} /> <${ReasonAction} label="Reject" name=${`reject-${item.user_id}`} danger onConfirm=${decide(item, 'reject')} /></td></tr>`)}</tbody></table>`
      : null}
  </section>`;
}

const ROLES = ['admin', 'event-manager', 'user', 'service'];

export function Roles() {
  const [role, setRole] = useState('admin');
  const [members, membersError, reloadMembers] = useLoad(() => get(`/api/admin/roles/${enc(role)}/users?limit=50`), [role]);
  const [userId, setUserId] = useState('');
  const [user, setUser] = useState(null);
  const [error, setError] = useState(null);
  const [grant, setGrant] = useState('event-manager');
  const lookup = async (e) => {
    e?.preventDefault();
    setError(null);
    try {
      setUser(await get(`/api/admin/users/${enc(userId.trim())}/roles`));
    } catch (failure) {
      setUser(null);
      setError(failure);
    }
  };
  const change = (path) => async (reason) => {
    await post(path, { reason, ...(path.endsWith('/roles') ? { role: grant } : {}) });
    await lookup();
    reloadMembers();
  };
  return html`<section>
    <h1>Roles</h1>
    <div class="columns">
      <div>
        <${Select} label="Members of role" name="role" value=${role} onChange=${setRole} options=${ROLES} />
        <${ErrorBox} error=${membersError} />
        <ul>${(members?.users || []).map((m) => html`<li>${m.user_id}${m.enabled ? '' : ' (disabled)'}</li>`)}</ul>
      </div>
      <div>
        <form class="row" onSubmit=${lookup}>
          <${TextInput} label="User id" name="role-user" value=${userId} onInput=${setUserId} required />
          <button type="submit">Show roles</button>
        </form>
        <${ErrorBox} error=${error} />
        ${user
          ? html`<div data-testid="user-roles">
              <p><strong>${user.user_id}</strong>: ${user.roles.length ? user.roles.map((r) => html`<span class="pill">${r} <${ReasonAction} label=${`Revoke ${r}`} name=${`revoke-${r}`} danger onConfirm=${change(`/api/admin/users/${enc(user.user_id)}/roles/${enc(r)}/revoke`)} /></span>`) : 'no role'}</p>
              <${ReasonAction} label="Grant role" name="grant" onConfirm=${change(`/api/admin/users/${enc(user.user_id)}/roles`)}
                extra=${html`<${Select} label="Role to grant" name="grant-role" value=${grant} onChange=${setGrant} options=${ROLES} />`} />
              <h2>Audit trail</h2>
              <ol class="feed">${user.changes.map((c) => html`<li>${formatTime(c.at)}: ${c.action} by ${c.actor} (“${c.reason}”)</li>`)}</ol>
            </div>`
          : null}
      </div>
    </div>
  </section>`;
}
