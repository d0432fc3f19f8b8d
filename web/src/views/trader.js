// The traders' event page (what an exchange embeds): rules and prizes, the countdown, joining, the live
// leaderboard with my row highlighted and pinned, my standing and what I still need, my prizes to claim, my share
// card, and the event's chat.
import { useEffect, useState } from 'preact/hooks';
import { enc, get, post } from '../lib/api.js';
import { compare, formatDecimal, formatPrize, subtract } from '../lib/decimal.js';
import { countdown, formatCount, formatTime } from '../lib/format.js';
import { ErrorBox, Link, Notice, Status, html, useLoad } from '../lib/ui.js';
import { Board, PrizeList, useLiveBoard } from './admin-events.js';
import { EventChat } from './chat.js';

export function TraderEvents() {
  const [page, error] = useLoad(() => get('/api/events?limit=50'), []);
  const shown = (page?.items || []).filter((e) => e.status !== 'DRAFT');
  return html`<section>
    <h1>Trading competitions</h1>
    <${ErrorBox} error=${error} />
    <ul class="cards">${shown.map((e) => html`<li class="card"><h2><${Link} href=${`/events/${enc(e.id)}`}>${e.name}</${Link}></h2>
      <p><${Status} value=${e.status} /> ${formatTime(e.start_at)} – ${formatTime(e.end_at)}</p></li>`)}</ul>
    ${page && shown.length === 0 ? html`<p class="muted">No competitions yet.</p>` : null}
  </section>`;
}

function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

const METRIC = { volume: 'volume', pnl: 'realised PnL', roi: 'ROI', trade_count: 'trades' };

/** The score separating me from the next better prize: the score at that prize rank minus mine. */
export function nextPrize(prizes, standing, rows) {
  if (!prizes.length || !standing) return null;
  const tiers = prizes.slice().sort((a, b) => a.rank_from - b.rank_from);
  const places = Math.max(...tiers.map((t) => t.rank_to));
  const mine = standing.prize_rank;
  let target;
  if (mine === null || mine === undefined || mine > places) target = places;
  else {
    const tier = tiers.find((t) => t.rank_from <= mine && mine <= t.rank_to);
    const better = tiers.filter((t) => t.rank_to < (tier ? tier.rank_from : mine)).pop();
    if (!better) return { top: true };
    target = better.rank_to;
  }
  const row = rows.find((r) => r.prize_rank === target && !r.me && !(standing.handle && r.handle === standing.handle));
  const tier = tiers.find((t) => t.rank_from <= target && target <= t.rank_to);
  if (!row) return { target, tier, distance: null };
  const distance = subtract(row.score, standing.score);
  return { target, tier, distance: compare(distance, '0') > 0 ? distance : '0' };
}

function missingText(missing) {
  const entries = Object.entries(missing || {});
  if (!entries.length) return null;
  return entries.map(([what, amount]) => `${formatDecimal(String(amount))} more ${what.replace('min_', '').replace('_', ' ')}`).join(' and ');
}

/** My rank card: its public page (Open Graph tags, what chat apps unfurl) and its PNG, to open or copy. */
function ShareCard({ eventId, eventName }) {
  const [link, setLink] = useState(null);
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState(null);
  const open = async () => {
    setError(null);
    try {
      setLink(await get(`/api/events/${enc(eventId)}/share/me`));
    } catch (failure) {
      setError(failure);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link.url);
      setCopied('Link copied.');
    } catch {
      document.getElementById('share-url')?.select(); // no clipboard permission: selected, to copy by hand
      setCopied('Select the link and copy it (Ctrl+C).');
    }
  };
  return html`<section class="card" aria-labelledby="share-title" data-testid="share">
    <h2 id="share-title">Share my rank</h2>
    ${link
      ? html`<img class="share-card" src=${link.image_url} alt=${`My rank card for ${eventName}`} width="1200" height="630" data-testid="share-image" />
          <div class="field"><label for="share-url">Share link</label>
            <input id="share-url" readonly value=${link.url} onFocus=${(e) => e.currentTarget.select()} /></div>
          <div class="actions">
            <button type="button" class="primary" onClick=${copy}>Copy link</button>
            <a class="button" href=${link.url} target="_blank" rel="noopener">Open the share page</a>
          </div>
          <${Notice}>${copied}<//>`
      : html`<button type="button" onClick=${open}>Get my share card</button>`}
    <${ErrorBox} error=${error} />
  </section>`;
}

export function TraderEvent({ session, eventId }) {
  const [event, eventError, reloadEvent] = useLoad(() => get(`/api/events/${enc(eventId)}`), [eventId]);
  const [standing, setStanding] = useState(null);
  const [prizes, setPrizes] = useState([]);
  const [joinAnswer, setJoinAnswer] = useState(null);
  const [joinError, setJoinError] = useState(null);
  const [claimError, setClaimError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [announcements, setAnnouncements] = useState([]);
  const [claimed, setClaimed] = useState({}); // the API lists open prizes only: a claimed one stays shown with its answer
  const now = useNow();
  const me = session.sub;
  const loadStanding = () => get(`/api/events/${enc(eventId)}/leaderboard/me?around=2`, { cache: 'no-cache' }).then(setStanding, () => setStanding(null));
  const loadPrizes = () => get('/api/events/prizes/me').then((answer) => setPrizes(answer.prizes.filter((p) => p.event_id === eventId)), () => {});
  const board = useLiveBoard(eventId, session.token, [`user:${me}`, `event:${eventId}`], (message) => {
    if (message.type === 'rank_changed' || message.type === 'milestone') loadStanding();
    if (message.type === 'prize' || message.type === 'prizes') loadPrizes();
    if (message.type === 'event_status') reloadEvent();
    if (message.type === 'announcement') setAnnouncements((old) => [{ at: message.ts, text: message.data?.text }, ...old].slice(0, 5));
  });
  useEffect(() => {
    loadStanding();
    loadPrizes();
  }, [eventId]);
  useEffect(() => {
    loadStanding(); // the board moved: my score and my neighbours may have too
    // and once more after the API's one-second snapshot cache, in case the first read came just before the move
    const again = setTimeout(loadStanding, 1200);
    return () => clearTimeout(again);
  }, [board.rows]);
  useEffect(() => {
    const timer = setInterval(loadPrizes, 5000); // a distribution's prizes also come by push; this catches a missed one
    return () => clearInterval(timer);
  }, [eventId]);

  const join = async () => {
    setJoinError(null);
    try {
      await post(`/api/events/${enc(eventId)}/join`);
      setJoinAnswer('You are in: your trades on this event’s markets now count.');
      loadStanding();
      reloadEvent();
    } catch (failure) {
      setJoinError(failure);
    }
  };
  const claim = async (prize) => {
    setClaimError(null);
    try {
      const result = await post(`/api/events/prizes/${enc(prize.prize_id)}/claim`, {}, { 'idempotency-key': crypto.randomUUID() });
      setNotice(`Claimed ${formatPrize(prize)}: ${result.status}`);
      setClaimed((old) => ({ ...old, [prize.prize_id]: { ...prize, status: result.status, claimable: false, claim_deadline: null } }));
      loadPrizes();
    } catch (failure) {
      setClaimError(failure);
    }
  };

  if (eventError) return html`<${ErrorBox} error=${eventError} />`;
  if (!event) return html`<p>Loading…</p>`;
  const untilStart = countdown(event.start_at, now);
  const untilEnd = countdown(event.end_at, now);
  const joined = standing !== null;
  const myHandle = joined ? standing.handle : null;
  const inTop = board.rows.some((r) => r.me || (myHandle && r.handle === myHandle));
  const pinned = joined && !inTop && standing.ranked ? { handle: myHandle, name: standing.name, rank: standing.rank, score: standing.score, trade_count: standing.trade_count, qualified: standing.qualified } : null;
  const next = joined ? nextPrize(event.prizes, standing, [...board.rows, ...(standing.above || []), ...(standing.below || [])]) : null;
  const percentile = joined && standing.rank && board.total ? Math.max(1, Math.ceil((standing.rank / board.total) * 100)) : null;
  const missing = joined ? missingText(standing.missing) : null;
  const shownPrizes = [
    ...prizes.map((p) => claimed[p.prize_id] || p),
    ...Object.values(claimed).filter((c) => !prizes.some((p) => p.prize_id === c.prize_id)),
  ];
  return html`<article class="event-page">
    <header class="event-head">
      <h1>${event.name}</h1>
      <p><${Status} value=${event.status} /> ${formatTime(event.start_at)} – ${formatTime(event.end_at)}</p>
      <p class="countdown" aria-live="off" data-testid="countdown">${untilStart ? `Starts in ${untilStart}` : untilEnd && ['ACTIVE', 'UPCOMING'].includes(event.status) ? `Ends in ${untilEnd}` : `Ended`}</p>
    </header>
    <${Notice}>${notice}<//>
    ${announcements.length ? html`<section class="announcements" aria-label="Announcements" data-testid="announcements">
      ${announcements.map((a) => html`<p class="notice">Announcement: ${a.text} <small>${formatTime(a.at)}</small></p>`)}</section>` : null}
    <div class="columns">
      <div>
        <section class="card" aria-labelledby="standing-title" data-testid="standing">
          <h2 id="standing-title">My standing</h2>
          ${joined
            ? html`<dl class="facts">
                <div><dt>Rank</dt><dd data-testid="my-rank">${standing.rank ?? '—'}${board.total ? ` of ${formatCount(board.total)}` : ''}</dd></div>
                <div><dt>Percentile</dt><dd>${percentile ? `top ${percentile}%` : '—'}</dd></div>
                <div><dt>My ${METRIC[event.ranking_metric]}</dt><dd>${formatDecimal(standing.score)}</dd></div>
                <div><dt>Trades</dt><dd>${formatCount(standing.trade_count)}</dd></div>
              </dl>
              ${standing.disqualified ? html`<p class="error" role="alert">You were disqualified: ${standing.disqualified_reason || 'no reason given'}</p>` : null}
              <p data-testid="qualify">${standing.qualified ? 'You qualify for prizes.' : missing ? `To qualify: ${missing}.` : 'Not qualified yet.'}</p>
              <p data-testid="next-prize">${next === null ? '' : next.top ? 'You hold a top prize place.' : next.distance === null ? `Prize rank ${next.target} is open: trade to take it.` : `${formatDecimal(next.distance)} more ${METRIC[event.ranking_metric]} to reach prize rank ${next.target}.`}</p>`
            : html`<p>You have not joined this competition.</p>
              ${['UPCOMING', 'ACTIVE'].includes(event.status) ? html`<button type="button" class="primary" onClick=${join}>Join the competition</button>` : null}`}
          <${Notice}>${joinAnswer}<//>
          <${ErrorBox} error=${joinError} />
        </section>
        ${joined ? html`<${ShareCard} eventId=${eventId} eventName=${event.name} />` : null}
        <section aria-labelledby="prizes-mine">
          <h2 id="prizes-mine">My prizes</h2>
          <${ErrorBox} error=${claimError} />
          ${shownPrizes.length === 0 ? html`<p class="muted">No prizes yet.</p>` : null}
          <ul class="cards" data-testid="my-prizes">${shownPrizes.map((p) => html`<li class="card prize" data-prize=${p.prize_id}>
            <strong>${formatPrize(p)}</strong> for prize rank ${p.prize_rank} · <${Status} value=${p.status} />
            ${p.claim_deadline ? html`<div>Claim by ${formatTime(p.claim_deadline)}${countdown(p.claim_deadline, now) ? ` (${countdown(p.claim_deadline, now)} left)` : ''}</div>` : null}
            ${p.claimable ? html`<button type="button" class="primary" onClick=${() => claim(p)}>Claim ${formatPrize(p)}</button>` : null}
          </li>`)}</ul>
        </section>
        <section aria-labelledby="rules-title">
          <h2 id="rules-title">Rules</h2>
          ${event.description ? html`<p class="description">${event.description}</p>` : null}
          <ul>
            <li>Ranked by ${METRIC[event.ranking_metric]} on ${event.markets.join(', ') || 'every market'}.</li>
            <li>To qualify: at least ${formatDecimal(event.qualification.min_volume)} volume and ${event.qualification.min_trades} trades.</li>
            ${event.join_required ? html`<li>Join first: only trades after joining count.</li>` : null}
            <li>Prizes are ${event.claim.mode === 'manual' ? `claimed here within ${event.claim.window_days} days of the distribution` : 'paid automatically'}.</li>
          </ul>
          <h3>Prizes</h3>
          <${PrizeList} prizes=${event.prizes} />
        </section>
      </div>
      <div>
        <p class="live-state" data-state=${board.state}>Live: <strong>${board.state}</strong></p>
        <${Board} rows=${board.rows} myHandle=${myHandle} pinned=${pinned} caption="Leaderboard" />
        <${EventChat} eventId=${eventId} session=${session} />
      </div>
    </div>
  </article>`;
}
