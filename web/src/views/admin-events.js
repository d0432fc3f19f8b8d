// The admin console's event screens: the list, create/edit (with the prize-table editor and the dry run), and
// one event's overview, live monitoring, participants (with the moderation trail), chat moderation, prizes and
// analytics.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, enc, get, patch, post, query } from '../lib/api.js';
import { formatDecimal, formatPrize, formatRate } from '../lib/decimal.js';
import { countdown, formatCount, formatTime, isoToLocalInput, localInputToIso } from '../lib/format.js';
import { applyBoardDiff, connectLive } from '../lib/live.js';
import { Chart, ErrorBox, Link, Notice, ReasonAction, Select, Status, TextInput, html, navigate, useLoad } from '../lib/ui.js';
import { AuditTrail, ChatModeration } from './chat.js';
import { PrizeTableEditor, ValidationPreview, localProblems, tierFromApi, tierToApi } from './prize-table.js';

const STATUSES = ['', 'DRAFT', 'UPCOMING', 'ACTIVE', 'FINALIZING', 'COMPLETED', 'CANCELLED'];

export function AdminEvents() {
  const [status, setStatus] = useState(new URLSearchParams(window.location.search).get('status') || '');
  const [pages, setPages] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const load = async (next) => {
    try {
      const page = await get(`/api/events${query({ status, limit: 50, cursor: next })}`);
      setPages((old) => (next ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    load(null);
  }, [status]);
  return html`<section>
    <div class="title-row">
      <h1>Events</h1>
      <${Link} class="button primary" href="/admin/events/new">New event</${Link}>
    </div>
    <div class="filters">
      <${Select} label="Status" name="status" value=${status} onChange=${(v) => { setStatus(v); window.history.replaceState({}, '', `/admin${v ? `?status=${v}` : ''}`); }}
        options=${STATUSES.map((s) => [s, s || 'Any status'])} />
    </div>
    <${ErrorBox} error=${error} />
    <table class="events">
      <caption class="sr-only">Events</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Starts</th><th scope="col">Ends</th><th scope="col" class="num">Participants</th></tr></thead>
      <tbody>
        ${pages.map((e) => html`<tr data-event=${e.id}>
          <td><${Link} href=${`/admin/events/${enc(e.id)}`}>${e.name}</${Link}></td>
          <td><${Status} value=${e.status} /></td>
          <td>${formatTime(e.start_at)}</td><td>${formatTime(e.end_at)}</td>
          <td class="num">${formatCount(e.participant_count)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${pages.length === 0 && !error ? html`<p class="muted">No events${status ? ` with status ${status}` : ''}.</p>` : null}
    ${cursor ? html`<button type="button" onClick=${() => load(cursor)}>More events</button>` : null}
  </section>`;
}

function formFromEvent(event) {
  const now = Date.now();
  return {
    name: event?.name || '',
    description: event?.description || '',
    start_at: isoToLocalInput(event?.start_at || new Date(now + 5 * 60000).toISOString()),
    end_at: isoToLocalInput(event?.end_at || new Date(now + 7 * 86400000).toISOString()),
    ranking_metric: event?.ranking_metric || 'volume',
    markets: (event?.markets || ['BTC-USDT', 'ETH-USDT']).join(', '),
    join_required: event ? event.join_required : true,
    max_participants: event?.max_participants ?? '',
    min_volume: event?.qualification?.min_volume ?? '0',
    min_trades: event?.qualification?.min_trades ?? 0,
    claim_mode: event?.claim?.mode || 'manual',
    window_days: event?.claim?.window_days ?? 14,
    tiers: (event?.prizes || []).map(tierFromApi),
  };
}

function bodyFromForm(form) {
  const body = {
    name: form.name.trim(),
    description: form.description.trim(),
    start_at: localInputToIso(form.start_at),
    end_at: localInputToIso(form.end_at),
    ranking_metric: form.ranking_metric,
    markets: form.markets.split(',').map((m) => m.trim()).filter(Boolean),
    join_required: form.join_required,
    qualification: { min_volume: String(form.min_volume).trim() || '0', min_trades: Number(form.min_trades) || 0 },
    claim: { mode: form.claim_mode, window_days: Number(form.window_days) || 14 },
    prizes: form.tiers.map(tierToApi),
  };
  if (form.max_participants !== '' && form.max_participants !== null) body.max_participants = Number(form.max_participants);
  return body;
}

const FROZEN_ONCE_STARTED = ['start_at', 'end_at', 'ranking_metric', 'markets', 'qualification', 'prizes', 'prize_settings'];

export function EventEditor({ eventId }) {
  const [event, setEvent] = useState(null);
  const [base, setBase] = useState(null); // the version this editor started from
  const [form, setForm] = useState(() => formFromEvent(null));
  const [error, setError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [saving, setSaving] = useState(false);
  const [dryRun, setDryRun] = useState(null);
  useEffect(() => {
    if (!eventId) return;
    get(`/api/events/${enc(eventId)}`).then((loaded) => {
      setEvent(loaded);
      setBase(loaded);
      setForm(formFromEvent(loaded));
    }, setError);
    get(`/api/events/${enc(eventId)}/prizes/validate`).then(setDryRun, () => setDryRun(null));
  }, [eventId]);
  const set = (field) => (value) => setForm((old) => ({ ...old, [field]: value }));
  const problems = localProblems(form.tiers);
  const started = event && !['DRAFT', 'UPCOMING'].includes(event.status);

  const save = async (version) => {
    setSaving(true);
    setError(null);
    try {
      let saved;
      if (!eventId) {
        saved = await post('/api/events', bodyFromForm(form));
      } else {
        // Only what this editor changed since it loaded the event: saving over a newer version keeps the rest of theirs.
        const mine = bodyFromForm(form);
        const loaded = bodyFromForm(formFromEvent(base));
        const body = { version };
        for (const [field, value] of Object.entries(mine)) {
          if (JSON.stringify(value) !== JSON.stringify(loaded[field])) body[field] = value;
        }
        if (started) for (const field of FROZEN_ONCE_STARTED) delete body[field];
        saved = await patch(`/api/events/${enc(eventId)}`, body);
      }
      setConflict(null);
      navigate(`/admin/events/${enc(saved.id)}?saved=1`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'version_conflict') {
        setConflict(await get(`/api/events/${enc(eventId)}`)); // the version someone else saved
      } else {
        setError(failure);
      }
    } finally {
      setSaving(false);
    }
  };
  const submit = (e) => {
    e.preventDefault();
    save(event?.version);
  };

  if (eventId && !base) return error ? html`<${ErrorBox} error=${error} />` : html`<p>Loading…</p>`; // never edit a blank form
  return html`<section>
    <h1>${eventId ? `Edit ${event ? event.name : 'event'}` : 'New event'}</h1>
    ${conflict
      ? html`<div class="conflict" role="alert" data-testid="conflict">
          <h2>Someone else changed this event</h2>
          <p>Version ${conflict.version} was saved by another change (updated ${formatTime(conflict.updated_at)}) while you edited version ${event.version}.</p>
          <dl class="facts"><div><dt>Their name</dt><dd>${conflict.name}</dd></div><div><dt>Their end</dt><dd>${formatTime(conflict.end_at)}</dd></div><div><dt>Their status</dt><dd>${conflict.status}</dd></div></dl>
          <div class="row">
            <button type="button" class="primary" onClick=${() => { setEvent(conflict); save(conflict.version); }}>Save mine over theirs</button>
            <button type="button" onClick=${() => { setEvent(conflict); setForm(formFromEvent(conflict)); setConflict(null); }}>Discard mine, load theirs</button>
          </div>
        </div>`
      : null}
    <form class="editor" onSubmit=${submit}>
      <${TextInput} label="Name" name="name" value=${form.name} onInput=${set('name')} required />
      <div class="field"><label for="description">Description and rules</label>
        <textarea id="description" name="description" rows="3" onInput=${(e) => set('description')(e.currentTarget.value)}>${form.description}</textarea></div>
      <div class="grid">
        <${TextInput} label="Starts (your time)" name="start_at" type="datetime-local" value=${form.start_at} onInput=${set('start_at')} required disabled=${started} />
        <${TextInput} label="Ends (your time)" name="end_at" type="datetime-local" value=${form.end_at} onInput=${set('end_at')} required disabled=${started}
          hint=${started ? 'Started: move the end with Extend on the overview.' : undefined} />
        <${Select} label="Ranking metric" name="ranking_metric" value=${form.ranking_metric} onChange=${set('ranking_metric')} options=${['volume', 'pnl', 'roi', 'trade_count']} disabled=${started} />
        <${TextInput} label="Markets (comma-separated)" name="markets" value=${form.markets} onInput=${set('markets')} disabled=${started} />
        <${TextInput} label="Minimum volume to qualify" name="min_volume" value=${form.min_volume} onInput=${set('min_volume')} inputmode="decimal" disabled=${started} />
        <${TextInput} label="Minimum trades to qualify" name="min_trades" type="number" value=${form.min_trades} onInput=${set('min_trades')} disabled=${started} />
        <${TextInput} label="Maximum participants (empty: no limit)" name="max_participants" type="number" value=${form.max_participants} onInput=${set('max_participants')} />
        <${Select} label="Claim mode" name="claim_mode" value=${form.claim_mode} onChange=${set('claim_mode')} options=${[['manual', 'manual: winners claim'], ['auto', 'auto: paid at distribution']]} />
        <${TextInput} label="Claim window (days)" name="window_days" type="number" value=${form.window_days} onInput=${set('window_days')} />
        <div class="field checkbox"><input id="join_required" type="checkbox" checked=${form.join_required} onChange=${(e) => set('join_required')(e.currentTarget.checked)} /><label for="join_required">Traders must join</label></div>
      </div>
      <${PrizeTableEditor} tiers=${form.tiers} onChange=${set('tiers')} disabled=${started} />
      ${started ? html`<p class="muted">The event has started: its timing, scoring fields and prize table are frozen.</p>` : null}
      ${problems.length ? html`<div class="warning" role="status"><strong>Check the prize table:</strong><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : null}
      <${ErrorBox} error=${error} />
      <div class="row">
        <button class="primary" type="submit" disabled=${saving || problems.length > 0}>${eventId ? 'Save changes' : 'Create event'}</button>
        <${Link} href=${eventId ? `/admin/events/${enc(eventId)}` : '/admin'}>Cancel</${Link}>
      </div>
    </form>
    ${eventId ? html`<${ValidationPreview} result=${dryRun} />` : html`<p class="muted">Once created, the event's page shows the dry run of its prize table: who would get what, the pools and the treasury.</p>`}
  </section>`;
}

const TABS = [
  ['overview', 'Overview'],
  ['live', 'Live'],
  ['participants', 'Participants'],
  ['chat', 'Chat'],
  ['prizes', 'Prizes'],
  ['analytics', 'Analytics'],
];

export function EventAdmin({ session, eventId, tab }) {
  const [event, error, reload] = useLoad(() => get(`/api/events/${enc(eventId)}`), [eventId, tab]);
  const moving = event && ['UPCOMING', 'ACTIVE', 'FINALIZING'].includes(event.status);
  useEffect(() => {
    if (!moving) return undefined;
    const timer = setInterval(reload, 3000); // the lifecycle moves on its own (schedules, the grace period)
    return () => clearInterval(timer);
  }, [moving]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!event) return html`<p>Loading…</p>`;
  return html`<section>
    <div class="title-row">
      <h1>${event.name} <${Status} value=${event.status} /></h1>
      <${Link} href=${`/events/${enc(event.id)}`}>Trader page</${Link}>
    </div>
    <nav class="tabs" aria-label="Event sections">
      ${TABS.map(([key, label]) => html`<${Link} href=${`/admin/events/${enc(eventId)}${key === 'overview' ? '' : `/${key}`}`} aria-current=${tab === key ? 'page' : undefined}>${label}</${Link}>`)}
    </nav>
    ${tab === 'overview' ? html`<${Overview} event=${event} reload=${reload} />` : null}
    ${tab === 'live' ? html`<${LiveMonitor} event=${event} session=${session} reload=${reload} />` : null}
    ${tab === 'participants' ? html`<${Participants} event=${event} />` : null}
    ${tab === 'chat' ? html`<${ChatModeration} event=${event} session=${session} />` : null}
    ${tab === 'prizes' ? html`<${Prizes} event=${event} reload=${reload} />` : null}
    ${tab === 'analytics' ? html`<${EventAnalytics} event=${event} />` : null}
  </section>`;
}

function Overview({ event, reload }) {
  const [dryRun, dryError, rerun] = useLoad(() => get(`/api/events/${enc(event.id)}/prizes/validate`), [event.id, event.version, event.status]);
  const [newEnd, setNewEnd] = useState(isoToLocalInput(new Date(new Date(event.end_at).getTime() + 3600000).toISOString()));
  const [done, setDone] = useState(null);
  const act = (verb, body) => async (reason) => {
    await post(`/api/events/${enc(event.id)}/${verb}`, { ...body, reason });
    setDone(`${verb} done: ${reason}`);
    reload();
    rerun();
  };
  const live = ['UPCOMING', 'ACTIVE'].includes(event.status);
  return html`<div class="columns">
    <div>
      <${Notice}>${done}<//>
      <dl class="facts">
        <div><dt>Starts</dt><dd>${formatTime(event.start_at)}</dd></div>
        <div><dt>Ends</dt><dd>${formatTime(event.end_at)}</dd></div>
        <div><dt>Metric</dt><dd>${event.ranking_metric}</dd></div>
        <div><dt>Markets</dt><dd>${event.markets.join(', ') || 'all'}</dd></div>
        <div><dt>Participants</dt><dd>${formatCount(event.participant_count)}${event.max_participants ? ` of ${formatCount(event.max_participants)}` : ''}</dd></div>
        <div><dt>Qualify with</dt><dd>${formatDecimal(event.qualification.min_volume)} volume, ${event.qualification.min_trades} trades</dd></div>
        <div><dt>Claims</dt><dd>${event.claim.mode}, ${event.claim.window_days} days</dd></div>
        <div><dt>Version</dt><dd>${event.version}</dd></div>
        ${event.cancel_reason ? html`<div><dt>Cancelled because</dt><dd>${event.cancel_reason}</dd></div>` : null}
      </dl>
      ${event.description ? html`<p class="description">${event.description}</p>` : null}
      <h2>Prize table</h2>
      <${PrizeList} prizes=${event.prizes} />
      <h2>Lifecycle</h2>
      <div class="actions">
        <${Link} class="button" href=${`/admin/events/${enc(event.id)}/edit`}>Edit</${Link}>
        ${event.status === 'UPCOMING' ? html`<${ReasonAction} label="Start now" name="start" onConfirm=${act('start')} />` : null}
        ${event.status === 'ACTIVE' ? html`<${ReasonAction} label="End now" name="end" onConfirm=${act('end')} danger />` : null}
        ${live ? html`<${ReasonAction} label="Extend" name="extend" onConfirm=${(reason) => act('extend', { end_at: localInputToIso(newEnd) })(reason)}
          extra=${html`<${TextInput} label="New end (your time)" name="end_at" type="datetime-local" value=${newEnd} onInput=${setNewEnd} />`} />` : null}
        ${live ? html`<${ReasonAction} label="Cancel event" name="cancel" onConfirm=${act('cancel')} danger />` : null}
      </div>
    </div>
    <div>
      <${ErrorBox} error=${dryError} />
      <${ValidationPreview} result=${dryRun} />
    </div>
  </div>`;
}

export function PrizeList({ prizes }) {
  if (!prizes.length) return html`<p class="muted">No prizes.</p>`;
  const what = (t) => {
    if (t.type === 'custom') return t.description;
    const unit = t.type === 'token' ? t.token : 'points';
    if ((t.split || 'each') === 'each') return `${formatDecimal(t.amount)} ${unit} each`;
    if (t.split === 'growing') return `growing pool: ${formatDecimal(t.base)} + ${formatDecimal(t.per_participant)} per participant, at most ${formatDecimal(t.maximum)} ${unit}`;
    return `${formatDecimal(t.pool)} ${unit} pool, ${t.split === 'shared' ? 'shared equally' : 'shared by score'}`;
  };
  return html`<table class="prizes"><caption class="sr-only">Prize table</caption>
    <thead><tr><th scope="col">Ranks</th><th scope="col">Prize</th></tr></thead>
    <tbody>${prizes.map((t) => html`<tr><td>${t.rank_from === t.rank_to ? `#${t.rank_from}` : `#${t.rank_from}–${t.rank_to}`}</td><td>${what(t)}</td></tr>`)}</tbody>
  </table>`;
}

/** A row is mine when the API says so (`me`, HTTP) or it carries my public handle (WebSocket pushes). */
const isMine = (row, myHandle) => Boolean(row.me || (myHandle && row.handle === myHandle));

/** A trader by public name; admins and the event's managers also get the user id (they act on it). */
function Trader({ row, mine }) {
  return html`<span class="trader"><span class="avatar" style=${`background:${row.colour || '#7f7f7f'}`} aria-hidden="true"></span>${row.name}${mine ? ' (you)' : ''}${row.user_id ? html` <small class="muted" data-testid="user-id">${row.user_id}</small>` : null}</span>`;
}

export function Board({ rows, myHandle, caption, testid = 'leaderboard', pinned }) {
  return html`<table class="board" data-testid=${testid}>
    <caption>${caption}</caption>
    <thead><tr><th scope="col" class="num">Rank</th><th scope="col">Trader</th><th scope="col" class="num">Score</th><th scope="col" class="num">Trades</th><th scope="col">Qualified</th></tr></thead>
    <tbody>
      ${rows.map((r) => {
        const mine = isMine(r, myHandle);
        return html`<tr class=${mine ? 'me' : ''} data-handle=${r.handle || undefined} data-user=${r.user_id || undefined} aria-current=${mine ? 'true' : undefined}>
        <td class="num">${r.rank}</td><td><${Trader} row=${r} mine=${mine} /></td><td class="num">${formatDecimal(r.score)}</td>
        <td class="num">${formatCount(r.trade_count)}</td><td>${r.qualified ? 'yes' : 'not yet'}</td></tr>`;
      })}
    </tbody>
    ${pinned ? html`<tfoot><tr class="me pinned" data-handle=${pinned.handle || undefined} data-testid="pinned-row"><td class="num">${pinned.rank ?? '—'}</td><td><${Trader} row=${pinned} mine=${true} /></td>
      <td class="num">${formatDecimal(pinned.score)}</td><td class="num">${formatCount(pinned.trade_count)}</td><td>${pinned.qualified ? 'yes' : 'not yet'}</td></tr></tfoot>` : null}
  </table>`;
}

/** The leaderboard kept live: read once, then the pushed diffs of `leaderboard:<event>` (refetch on a gap).
 * Pushed rows name traders by handle and name only; a viewer whose page carries user ids (an admin, the event's
 * managers) reads the page again on each push instead, so the ids they act on stay shown. */
export function useLiveBoard(eventId, token, extraTopics = [], onOther = () => {}) {
  const [rows, setRows] = useState([]);
  const [total, setTotal] = useState(0);
  const [state, setState] = useState('connecting');
  const version = useRef(null);
  const withIds = useRef(false);
  const connection = useRef(null);
  const other = useRef(onOther);
  other.current = onOther;
  // The page as of at least `atLeast` (a push's version): the API keeps a snapshot read for a second, so a read
  // right after a push may still be the one before it; read again until it is not (a few tries).
  const refetch = async (atLeast = 0) => {
    for (let attempt = 0; ; attempt += 1) {
      const page = await get(`/api/events/${enc(eventId)}/leaderboard?limit=20`, { cache: 'no-cache' });
      if (page.version < atLeast && attempt < 5) {
        await new Promise((resolve) => setTimeout(resolve, 1100));
        continue;
      }
      version.current = null;
      withIds.current = page.entries.some((e) => e.user_id);
      setRows(page.entries);
      setTotal(page.total);
      return;
    }
  };
  useEffect(() => {
    refetch().catch(() => {});
    const close = connectLive(token, [`leaderboard:${eventId}`, ...extraTopics], (message) => {
      if (message.type === 'subscribed' && message.topic === `leaderboard:${eventId}`) {
        refetch().catch(() => {}); // subscribed first, then read once: no change falls between the two
      } else if (message.type === 'leaderboard' && message.data?.event_id === eventId) {
        if (message.data.partial || withIds.current) {
          refetch(message.data.version).catch(() => {});
          return;
        }
        setRows((current) => {
          const next = applyBoardDiff(current, version.current, message.data);
          if (next === null) return current;
          version.current = message.data.version;
          return next;
        });
        setTotal(message.data.total);
      } else {
        other.current(message);
      }
    }, setState);
    connection.current = close;
    return close;
  }, [eventId, token]);
  const send = (message) => Boolean(connection.current && connection.current.send(message));
  return { rows, total, state, refetch, send };
}

function LiveMonitor({ event, session, reload }) {
  const [trades, setTrades] = useState([]);
  const [milestones, setMilestones] = useState([]);
  const [analytics, setAnalytics] = useState(null);
  const [ingest, setIngest] = useState(null);
  const [statuses, setStatuses] = useState([]);
  const [announcement, setAnnouncement] = useState('');
  const [announced, setAnnounced] = useState(null);
  const admin = session.groups.includes('admin');
  const onOther = (message) => {
    const data = message.data || {};
    if (message.type === 'trades') setTrades((old) => [...old.slice(-299), { at: Date.now(), ...data }]);
    else if (message.type === 'milestone') setMilestones((old) => [{ at: message.ts, ...data }, ...old].slice(0, 20));
    else if (message.type === 'analytics') {
      const mine = (data.events || []).find((e) => e.event_id === event.id);
      if (mine) setAnalytics({ at: message.ts, ...mine });
    } else if (message.type === 'ingest') setIngest({ at: message.ts, ...data });
    else if (message.type === 'announced') setAnnounced(`Announced to ${message.delivered} connected ${message.delivered === 1 ? 'person' : 'people'}.`);
    else if (message.type === 'error') setAnnounced(`Refused: ${message.message || message.error?.message || 'the announcement was not sent'}`);
    else if (message.type === 'announcement') setMilestones((old) => [{ at: message.ts, milestone: 'announcement', text: data.text }, ...old].slice(0, 20));
    else if (message.type === 'event_status' || message.type === 'prizes') {
      setStatuses((old) => [{ at: message.ts, type: message.type, ...data }, ...old].slice(0, 10));
      reload();
    }
  };
  const topics = [`trades:${event.id}`, `event:${event.id}`, ...(admin ? ['admin'] : [])];
  const board = useLiveBoard(event.id, session.token, topics, onOther);
  const recent = trades.filter((t) => t.at > Date.now() - 10000);
  const perSecond = recent.reduce((sum, t) => sum + (t.trades || 0), 0) / 10;
  const volumes = trades.map((t) => Number(t.volume || 0)); // drawn only; the total below is summed exactly by the API
  return html`<div class="columns">
    <div>
      <p class="live-state" data-state=${board.state}>WebSocket: <strong>${board.state}</strong> · ${formatCount(board.total)} ranked</p>
      <${Board} rows=${board.rows} caption="Live leaderboard (top 20)" />
    </div>
    <div>
      <dl class="facts">
        <div><dt>Trades per second (last 10 s)</dt><dd data-testid="tps">${perSecond.toFixed(1)}</dd></div>
        <div><dt>Connected clients (WebSocket connections watching)</dt><dd data-testid="connected">${analytics ? formatCount(analytics.connected_clients) : '—'}</dd></div>
        <div><dt>Stream lag (last ingest batch)</dt><dd data-testid="lag">${ingest && ingest.lag_ms !== null && ingest.lag_ms !== undefined ? `${formatCount(ingest.lag_ms)} ms` : '—'}</dd></div>
        <div><dt>Last minute's volume</dt><dd>${analytics ? formatDecimal(analytics.volume_per_minute) : '—'}</dd></div>
        <div><dt>Trades last minute</dt><dd>${analytics ? formatCount(analytics.trades_per_minute) : '—'}</dd></div>
        <div><dt>Active traders (minute)</dt><dd>${analytics ? formatCount(analytics.active_traders) : '—'}</dd></div>
        <div><dt>Participation so far</dt><dd>${analytics ? formatRate(analytics.participation_rate) : '—'}</dd></div>
        <div><dt>Volume so far</dt><dd>${analytics ? formatDecimal(analytics.volume) : '—'}</dd></div>
      </dl>
      <${Chart} title="Volume per push" labels=${trades.map((t) => t.at / 1000)} series=${[{ label: 'volume', values: volumes }]} />
      <h2>Trades</h2>
      <ul class="feed" data-testid="trades-feed">${trades.slice(-8).reverse().map((t) => html`<li>${new Date(t.at).toLocaleTimeString()}: ${formatCount(t.trades)} ${t.trades === 1 ? 'trade' : 'trades'}, volume ${formatDecimal(t.volume)}</li>`)}</ul>
      <h2>Announce</h2>
      <form class="row" onSubmit=${(e) => {
        e.preventDefault();
        const sent = board.send({ action: 'announce', event_id: event.id, text: announcement.trim() });
        setAnnounced(sent ? 'Sending…' : 'Not connected: try again in a moment.');
        if (sent) setAnnouncement('');
      }}>
        <${TextInput} label="Message to everyone watching this event" name="announcement" value=${announcement} onInput=${setAnnouncement} />
        <button type="submit" disabled=${!announcement.trim()}>Announce</button>
      </form>
      <${Notice}>${announced}<//>
      <h2>Milestones, announcements and status</h2>
      <ul class="feed" data-testid="milestones">
        ${milestones.map((m) => html`<li>${formatTime(m.at)}: ${m.milestone}${m.threshold ? ` ${formatDecimal(String(m.threshold))}` : ''}${m.text ? `: ${m.text}` : ''}</li>`)}
        ${statuses.map((s) => html`<li>${formatTime(s.at)}: ${s.type} ${s.status || s.change || ''}</li>`)}
      </ul>
    </div>
  </div>`;
}

function Participants({ event }) {
  const [search, setSearch] = useState('');
  const [rows, setRows] = useState([]);
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0); // the trail reads again after each change made here
  const loadBoard = async () => {
    const page = await get(`/api/events/${enc(event.id)}/leaderboard?limit=100`);
    setRows(page.entries);
  };
  useEffect(() => {
    loadBoard().catch(setError);
    const timer = setInterval(() => loadBoard().catch(() => {}), 3000); // the board follows a change within a second or two
    return () => clearInterval(timer);
  }, [event.id]);
  const find = async (userId) => {
    try {
      return await get(`/api/events/${enc(event.id)}/prizes/users/${enc(userId)}`);
    } catch (failure) {
      // Prizes are worked out once the event completes (409 before): until then, the live board's rank
      if (failure.status !== 409) throw failure;
      const row = rows.find((r) => r.user_id === userId);
      return { user_id: userId, rank: row ? row.rank : null, live: true };
    }
  };
  const lookup = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      setFound(await find(search.trim()));
    } catch (failure) {
      setFound(null);
      setError(failure);
    }
  };
  const moderate = (userId, verb) => async (reason) => {
    await post(`/api/events/${enc(event.id)}/participants/${enc(userId)}/${verb}`, { reason });
    setTick((n) => n + 1);
    if (found && found.user_id === userId) setFound(await find(userId));
    await loadBoard();
  };
  const matching = rows.filter((r) => r.user_id.toLowerCase().includes(search.trim().toLowerCase()));
  return html`<div class="columns">
    <div>
      <form class="row" onSubmit=${lookup} role="search">
        <${TextInput} label="Search participants by user id" name="participant-search" value=${search} onInput=${setSearch} />
        <button type="submit">Look up</button>
      </form>
      <${ErrorBox} error=${error} />
      ${found ? html`<div class="card" data-testid="participant-found"><strong>${found.user_id}</strong>: ${found.live
          ? `rank ${found.rank ?? '— (not on the board: disqualified, or no trades yet)'} on the live board; prizes are worked out once the event completes`
          : `rank ${found.rank ?? '—'}, prize rank ${found.prize_rank ?? '—'}, ${found.eligible ? 'eligible for prizes' : 'not eligible'}`}
        <div class="actions"><${ReasonAction} label="Disqualify" name=${`disqualify-${found.user_id}`} danger onConfirm=${moderate(found.user_id, 'disqualify')} />
        <${ReasonAction} label="Reinstate" name=${`reinstate-${found.user_id}`} onConfirm=${moderate(found.user_id, 'reinstate')} /></div></div>` : null}
      <table class="board"><caption>On the board${search ? ` matching “${search}”` : ''}</caption>
        <thead><tr><th scope="col" class="num">Rank</th><th scope="col">Trader</th><th scope="col" class="num">Score</th><th scope="col">Action</th></tr></thead>
        <tbody>${matching.map((r) => html`<tr data-user=${r.user_id}><td class="num">${r.rank}</td><td>${r.user_id}</td><td class="num">${formatDecimal(r.score)}</td>
          <td><${ReasonAction} label="Disqualify" name=${`disqualify-${r.user_id}`} danger onConfirm=${moderate(r.user_id, 'disqualify')} /></td></tr>`)}</tbody>
      </table>
    </div>
    <div>
      <h2>Moderation trail</h2>
      <p class="muted">Every disqualification and reinstatement of this event, as the API audited it: who, whom, why and when.</p>
      <${AuditTrail} title="Participant moderation trail" path=${`/api/events/${enc(event.id)}/participants/audit`} tick=${tick}
        testid="moderation-trail" describe=${(entry) => html`${formatTime(entry.at)}: ${entry.actor}: ${entry.action} <strong>${entry.user_id}</strong> (“${entry.reason}”) → ${entry.action === 'disqualify' ? `disqualified: ${entry.reason}` : 'on the board again'}`} />
    </div>
  </div>`;
}

function prizeId(eventId, userId, ruleIndex) {
  const raw = new TextEncoder().encode(`${eventId}#${userId}#${ruleIndex}`);
  return `pz_${btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

function Prizes({ event, reload }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [dryRun, setDryRun] = useState(null);
  const refresh = async () => {
    try {
      setStatus(await get(`/api/events/${enc(event.id)}/prizes/distribution`));
    } catch (failure) {
      if (failure.status !== 404) setError(failure);
      setStatus(null);
    }
    get(`/api/events/${enc(event.id)}/prizes/validate`).then(setDryRun, () => {});
  };
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 2000); // a distribution moves batch by batch: shown as it goes
    return () => clearInterval(timer);
  }, [event.id]);
  const distribute = async () => {
    setError(null);
    try {
      const run = await post(`/api/events/${enc(event.id)}/prizes/distribute`);
      setNotice(`Distribution ${run.created ? 'started' : 'already exists'}: ${run.status}`);
      refresh();
    } catch (failure) {
      setError(failure);
    }
  };
  const rollback = async (reason) => {
    const result = await post(`/api/events/${enc(event.id)}/prizes/rollback`, { reason });
    setNotice(`Rolled back ${result.rolled_back} prizes; ${result.refused.length} refused (already paid out).`);
    refresh();
  };
  const fulfil = (id) => async (reason) => {
    await post(`/api/events/prizes/${enc(id)}/fulfil`, { reason });
    setNotice('Marked fulfilled.');
    refresh();
  };
  const run = status?.run;
  const custom = (dryRun?.awards || []).filter((a) => a.type === 'custom' && a.status === 'CUSTOM_PENDING');
  return html`<div>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
    <div class="actions">
      <button type="button" class="primary" onClick=${distribute} disabled=${event.status !== 'COMPLETED'} data-action="distribute">Distribute prizes</button>
      ${run ? html`<${ReasonAction} label="Roll back" name="rollback" danger onConfirm=${rollback} />` : null}
      ${event.status !== 'COMPLETED' ? html`<span class="muted">Prizes are distributed once the event is COMPLETED (now ${event.status}).</span>` : null}
    </div>
    ${run
      ? html`<section data-testid="distribution">
          <h2>Distribution <${Status} value=${run.status} /></h2>
          <label for="batches">Batches done: ${run.batches_done} of ${run.batch_count}</label>
          <progress id="batches" max=${run.batch_count || 1} value=${run.batches_done}>${run.batches_done}/${run.batch_count}</progress>
          <dl class="facts">
            <div><dt>Awards</dt><dd>${run.award_count}</dd></div>
            ${Object.entries(run.paid || {}).map(([c, a]) => html`<div><dt>Paid ${c}</dt><dd>${formatDecimal(a)}</dd></div>`)}
            ${Object.entries(run.treasury || {}).map(([c, a]) => html`<div><dt>Treasury ${c}</dt><dd>${formatDecimal(a)}</dd></div>`)}
            ${Object.entries(status.prizes_by_status || {}).map(([s, n]) => html`<div><dt>${s}</dt><dd>${n}</dd></div>`)}
          </dl>
          <table><caption>Batches</caption><thead><tr><th scope="col">#</th><th scope="col">Status</th><th scope="col" class="num">Awards</th><th scope="col">Users</th></tr></thead>
            <tbody>${status.batches.map((b) => html`<tr><td>${b.batch_index}</td><td><${Status} value=${b.status} /></td><td class="num">${b.awards}</td><td>${b.user_ids.join(', ')}</td></tr>`)}</tbody></table>
        </section>`
      : html`<p class="muted">No distribution yet.</p>`}
    <h2>Custom prizes to fulfil</h2>
    ${custom.length
      ? html`<ul>${custom.map((a) => html`<li>${a.user_id}: ${a.description} <${ReasonAction} label="Mark fulfilled" name=${`fulfil-${a.user_id}`} onConfirm=${fulfil(prizeId(event.id, a.user_id, a.rule_index))} /></li>`)}</ul>`
      : html`<p class="muted">None waiting.</p>`}
    <${ValidationPreview} result=${dryRun} />
  </div>`;
}

/** The series' range: the event's window, but by the minute only its last two hours so far (a page holds a day). */
function seriesRange(event, resolution) {
  if (resolution !== 'minute') return { resolution };
  const start = new Date(event.start_at).getTime();
  const end = Math.min(new Date(event.end_at).getTime(), Date.now() + 60000);
  const from = Math.max(start, end - 2 * 3600000);
  return { resolution, from: new Date(from).toISOString(), to: new Date(Math.max(end, from + 60000)).toISOString() };
}

function EventAnalytics({ event }) {
  const [resolution, setResolution] = useState('minute');
  const [perf, error] = useLoad(() => get(`/api/events/${enc(event.id)}/performance${query(seriesRange(event, resolution))}`), [event.id, resolution]);
  const [job, setJob] = useState(null);
  const [exportError, setExportError] = useState(null);
  useEffect(() => {
    if (!job || ['SUCCEEDED', 'FAILED'].includes(job.status)) return undefined;
    const timer = setTimeout(() => get(`/api/events/analytics/exports/${enc(job.export_id)}`).then(setJob, setExportError), 1500);
    return () => clearTimeout(timer);
  }, [job]);
  const startExport = async (format) => {
    setExportError(null);
    try {
      setJob(await post('/api/events/analytics/export', { event_ids: [event.id], datasets: ['participants', 'timeseries'], format, resolution: 'hour' }));
    } catch (failure) {
      setExportError(failure);
    }
  };
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!perf) return html`<p>Loading…</p>`;
  const m = perf.metrics;
  const points = perf.series.points;
  return html`<div>
    <p class="muted">Source: ${perf.source}; computed ${formatTime(m.computed_at)}.</p>
    <dl class="facts" data-testid="metrics">
      <div><dt>Volume</dt><dd>${formatDecimal(m.totals.volume)}</dd></div>
      <div><dt>Trades</dt><dd>${formatCount(m.totals.trades)}</dd></div>
      <div><dt>Fees</dt><dd>${formatDecimal(m.totals.fees)}</dd></div>
      <div><dt>Participants</dt><dd>${formatCount(m.participants)}</dd></div>
      <div><dt>Traders</dt><dd>${formatCount(m.traders)}</dd></div>
      <div><dt>Participation rate</dt><dd>${formatRate(m.participation_rate)}</dd></div>
      <div><dt>Retention during</dt><dd>${formatRate(m.retention_during?.rate ?? null)}</dd></div>
      <div><dt>Lift</dt><dd>${formatRate(m.lift?.lift ?? null)}</dd></div>
      <div><dt>New traders</dt><dd>${formatCount(m.new_traders)}</dd></div>
      <div><dt>Prize cost</dt><dd>${m.prize_cost?.cost ? formatDecimal(m.prize_cost.cost) : '—'}${m.prize_cost?.unpriced?.length ? ' (lower bound)' : ''}</dd></div>
      <div><dt>Event ROI</dt><dd>${formatRate(m.roi?.roi ?? null)}</dd></div>
    </dl>
    <${Select} label="Resolution" name="resolution" value=${resolution} onChange=${setResolution} options=${['minute', 'hour', 'day']} />
    <${Chart} title="Volume and trades over time" labels=${points.map((p) => new Date(p.start).getTime() / 1000)}
      series=${[{ label: 'volume', values: points.map((p) => Number(p.volume)) }, { label: 'trades', values: points.map((p) => p.trades), scale: 'count' }]} />
    <${Chart} title="Volume by hour of day (UTC)" bars times=${false} labels=${m.hour_of_day.map((h) => String(h.key))}
      series=${[{ label: 'volume', values: m.hour_of_day.map((h) => Number(h.volume)) }]} />
    <h2>Top pairs</h2>
    <table><thead><tr><th scope="col">Market</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Share</th></tr></thead>
      <tbody>${m.top_pairs.map((p) => html`<tr><td>${p.key}</td><td class="num">${formatDecimal(p.volume)}</td><td class="num">${formatRate(p.share)}</td></tr>`)}</tbody></table>
    <h2>Export</h2>
    <div class="actions"><button type="button" onClick=${() => startExport('csv')}>Export CSV</button><button type="button" onClick=${() => startExport('jsonl')}>Export JSON Lines</button></div>
    <${ErrorBox} error=${exportError} />
    ${job ? html`<p data-testid="export">Export ${job.export_id}: <${Status} value=${job.status} /> ${(job.files || []).map((f) => html` <a href=${f.url} download>${f.dataset} (${f.rows} rows)</a>`)}</p>` : null}
  </div>`;
}
