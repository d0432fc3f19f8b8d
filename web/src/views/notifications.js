// A trader's notifications: the bell with the unread count (kept live by `notification` pushes on the user's
// `user:<id>` topic), the inbox (newest first, cursor paging, mark read / read all) and the preferences (type x
// channel switches, quiet hours, digest, Discord / Telegram linking with the code, devices).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, enc, get, post, put, query } from '../lib/api.js';
import { formatTime, unreadText } from '../lib/format.js';
import { connectLive } from '../lib/live.js';
import { ErrorBox, Link, Notice, Select, TextInput, html, useId } from '../lib/ui.js';

const TYPE_LABELS = {
  event_reminder: 'Event reminders',
  rank_change: 'Rank changes',
  prize_won: 'Prizes won',
  prize_claimable: 'Prizes to claim',
  claim_deadline: 'Claim deadlines',
  prize_paid: 'Prizes paid',
  new_event: 'New events',
  milestone: 'Milestones',
  announcement: 'Announcements',
  digest: 'Daily digest',
};
const CHANNEL_LABELS = { in_app: 'In app', email: 'Email', discord: 'Discord', telegram: 'Telegram', push: 'Push' };
const CHANNELS = Object.keys(CHANNEL_LABELS);

/** The unread count and the notifications pushed since the page opened: one WebSocket on `user:<id>`. */
export function useNotifications(session) {
  const [unread, setUnread] = useState(null);
  const [arrived, setArrived] = useState([]);
  const alive = useRef(true);
  const refresh = () =>
    get('/api/me/notifications/unread-count').then(
      (answer) => alive.current && setUnread(answer),
      () => {},
    );
  useEffect(() => {
    alive.current = true;
    if (!session) return undefined;
    refresh();
    const close = connectLive(session.token, [`user:${session.sub}`], (message) => {
      if (message.type === 'subscribed') refresh(); // anything stored while we were connecting is counted
      if (message.type !== 'notification' || !message.data?.notification_id) return;
      setArrived((old) => (old.some((n) => n.notification_id === message.data.notification_id) ? old : [message.data, ...old].slice(0, 50)));
      refresh(); // the server's count (capped), not a local guess
    });
    return () => {
      alive.current = false;
      close();
    };
  }, [session?.token, session?.sub]);
  return { unread, arrived, refresh, setUnread };
}

export function Bell({ unread }) {
  const text = unreadText(unread);
  const count = unread?.count || 0;
  const label = count ? `Notifications, ${text} unread` : 'Notifications, none unread';
  return html`<${Link} href="/inbox" class="bell" aria-label=${label} data-testid="bell">
    <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
      <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" /><path d="M13.7 21a2 2 0 0 1-3.4 0" /></svg>${count ? html`<span class="bell-count" data-testid="unread-count">${text}</span>` : null}
  </${Link}>`;
}

export function Inbox({ notes }) {
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const load = async (from) => {
    setLoading(true);
    setError(null);
    try {
      const page = await get(`/api/me/notifications${query({ limit: 20, cursor: from, unread: unreadOnly ? 'true' : '' })}`);
      setItems((old) => merge(from ? old : [], page.items));
      setCursor(page.next_cursor || null);
      setLoaded(true);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    load(null);
  }, [unreadOnly]);
  useEffect(() => {
    if (!loaded || !notes.arrived.length) return;
    setItems((old) => merge(old, notes.arrived));
    // The server's page, not the push, says what is read (a read-all may have covered a push still in flight)
    get(`/api/me/notifications${query({ limit: 20, unread: unreadOnly ? 'true' : '' })}`).then(
      (page) => setItems((old) => merge(page.items, old)),
      () => {},
    );
  }, [notes.arrived, loaded]);
  const markRead = async (item) => {
    setError(null);
    try {
      await post(`/api/me/notifications/${enc(item.notification_id)}/read`);
      setItems((old) => old.map((n) => (n.notification_id === item.notification_id ? { ...n, read: true } : n)));
      notes.refresh();
    } catch (failure) {
      setError(failure);
    }
  };
  const readAll = async () => {
    setError(null);
    try {
      await post('/api/me/notifications/read-all');
      setItems((old) => old.map((n) => ({ ...n, read: true })));
      notes.refresh();
    } catch (failure) {
      setError(failure);
    }
  };
  const shown = unreadOnly ? items.filter((n) => !n.read) : items;
  return html`<section class="inbox" aria-labelledby="inbox-title">
    <div class="row spread">
      <h1 id="inbox-title">Notifications</h1>
      <${Link} href="/settings/notifications">Preferences</${Link}>
    </div>
    <p data-testid="inbox-summary">${notes.unread ? (notes.unread.count ? `${unreadText(notes.unread)} unread` : 'All read') : ''}</p>
    <div class="row">
      <label class="check"><input type="checkbox" checked=${unreadOnly} onChange=${(e) => setUnreadOnly(e.currentTarget.checked)} /> Unread only</label>
      <button type="button" onClick=${readAll} disabled=${!notes.unread?.count}>Mark all read</button>
    </div>
    <${ErrorBox} error=${error} />
    ${loaded && shown.length === 0 ? html`<p class="muted">No notifications.</p>` : null}
    <ul class="notes" aria-live="polite" data-testid="inbox">${shown.map((n) => html`<li class=${`card note${n.read ? '' : ' unread'}`} data-note=${n.notification_id} data-read=${n.read ? 'yes' : 'no'}>
      <div class="row spread"><strong class="note-title">${n.title}</strong><small>${TYPE_LABELS[n.type] || n.type} · ${formatTime(n.created_at)}</small></div>
      <p class="note-body">${n.body}</p>
      <div class="row">
        ${n.event_id ? html`<${Link} href=${`/events/${enc(n.event_id)}`}>Open the event</${Link}>` : null}
        ${n.read ? html`<span class="muted">Read</span>` : html`<button type="button" onClick=${() => markRead(n)} aria-label=${`Mark “${n.title}” read`}>Mark read</button>`}
      </div>
    </li>`)}</ul>
    ${cursor ? html`<button type="button" onClick=${() => load(cursor)} disabled=${loading}>Load older</button>` : null}
    ${loading ? html`<p class="muted">Loading…</p>` : null}
  </section>`;
}

/** Newest first, each notification once (a pushed one may also come in a page): the first list's copy wins. */
function merge(first, second) {
  const seen = new Set();
  return [...first, ...second]
    .filter((n) => (seen.has(n.notification_id) ? false : seen.add(n.notification_id)))
    .sort((a, b) => (a.notification_id < b.notification_id ? 1 : a.notification_id > b.notification_id ? -1 : 0));
}

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function Preferences() {
  const [prefs, setPrefs] = useState(null);
  const [form, setForm] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setError(null);
    try {
      const answer = await get('/api/me/notification-preferences');
      setPrefs(answer);
      setForm(toForm(answer));
      setConflict(false);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    const changed = {};
    for (const [type, row] of Object.entries(form.channels)) {
      for (const [channel, on] of Object.entries(row)) {
        if (prefs.channels[type]?.[channel] !== on) (changed[type] ||= {})[channel] = on;
      }
    }
    const body = {
      version: prefs.version,
      channels: changed,
      quiet_hours: form.quiet ? { start: form.quiet_start, end: form.quiet_end, timezone: form.timezone.trim() } : null,
      digest: { enabled: form.digest, hour: Number(form.digest_hour) },
      locale: form.locale,
    };
    try {
      const answer = await put('/api/me/notification-preferences', body);
      setPrefs(answer);
      setForm(toForm(answer));
      setNotice('Preferences saved.');
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 409) setConflict(true);
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const set = (name) => (value) => setForm((old) => ({ ...old, [name]: value }));
  const toggle = (type, channel) => (e) => {
    const on = e.currentTarget.checked;
    setForm((old) => ({ ...old, channels: { ...old.channels, [type]: { ...old.channels[type], [channel]: on } } }));
  };
  return html`<section aria-labelledby="prefs-title">
    <div class="row spread"><h1 id="prefs-title">Notification preferences</h1><${Link} href="/inbox">Inbox</${Link}></div>
    <${ErrorBox} error=${error} />
    ${conflict ? html`<p class="warning" role="status">Your preferences were changed elsewhere. <button type="button" onClick=${load}>Load the latest</button></p>` : null}
    ${form
      ? html`<form onSubmit=${save} class="card">
          <div class="scroll">
            <table class="prefs"><caption>What reaches me where</caption>
              <thead><tr><th scope="col">Notification</th>${CHANNELS.map((c) => html`<th scope="col">${CHANNEL_LABELS[c]}</th>`)}</tr></thead>
              <tbody>${Object.keys(form.channels).map((type) => html`<tr data-type=${type}><th scope="row">${TYPE_LABELS[type] || type}</th>
                ${CHANNELS.map((c) => html`<td><input type="checkbox" checked=${Boolean(form.channels[type][c])} onChange=${toggle(type, c)}
                  aria-label=${`${TYPE_LABELS[type] || type} by ${CHANNEL_LABELS[c]}`} /></td>`)}</tr>`)}</tbody>
            </table>
          </div>
          <fieldset><legend>Quiet hours</legend>
            <p class="muted">Nothing but the inbox reaches me then; the rest waits until they end.</p>
            <label class="check"><input type="checkbox" name="quiet" checked=${form.quiet} onChange=${(e) => set('quiet')(e.currentTarget.checked)} /> Quiet hours on</label>
            ${form.quiet
              ? html`<div class="row">
                  <${TextInput} label="From" type="time" name="quiet_start" value=${form.quiet_start} onInput=${set('quiet_start')} required />
                  <${TextInput} label="Until" type="time" name="quiet_end" value=${form.quiet_end} onInput=${set('quiet_end')} required />
                  <${TextInput} label="Time zone" name="timezone" value=${form.timezone} onInput=${set('timezone')} required hint="IANA name, e.g. Europe/Paris" />
                </div>`
              : null}
          </fieldset>
          <fieldset><legend>Daily digest</legend>
            <label class="check"><input type="checkbox" name="digest" checked=${form.digest} onChange=${(e) => set('digest')(e.currentTarget.checked)} /> Gather rank changes into one daily digest</label>
            <${Select} label="Digest hour (local)" name="digest_hour" value=${String(form.digest_hour)} onChange=${set('digest_hour')}
              options=${Array.from({ length: 24 }, (_, h) => [String(h), `${String(h).padStart(2, '0')}:00`])} disabled=${!form.digest} />
          </fieldset>
          <${Select} label="Language" name="locale" value=${form.locale} onChange=${set('locale')} options=${localeOptions(form.locale)} />
          <button type="submit" class="primary" disabled=${busy}>Save preferences</button>
          <${Notice}>${notice}<//>
        </form>`
      : html`<p>Loading…</p>`}
    <${ChannelLinks} />
  </section>`;
}

function localeOptions(current) {
  const known = [['en', 'English'], ['fr', 'Français'], ['de', 'Deutsch'], ['es', 'Español'], ['pt-BR', 'Português (Brasil)']];
  return known.some(([code]) => code === current) ? known : [...known, [current, current]];
}

function toForm(prefs) {
  const channels = {};
  for (const [type, row] of Object.entries(prefs.channels)) channels[type] = { ...row };
  return {
    channels,
    quiet: Boolean(prefs.quiet_hours),
    quiet_start: prefs.quiet_hours?.start?.slice(0, 5) || '22:00',
    quiet_end: prefs.quiet_hours?.end?.slice(0, 5) || '07:00',
    timezone: prefs.quiet_hours?.timezone || browserZone(),
    digest: Boolean(prefs.digest?.enabled),
    digest_hour: prefs.digest?.hour ?? 8,
    locale: prefs.locale || 'en',
  };
}

function ChannelLinks() {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [channel, setChannel] = useState('discord');
  const [address, setAddress] = useState('');
  const [pending, setPending] = useState(null);
  const [code, setCode] = useState('');
  const [platform, setPlatform] = useState('android');
  const [deviceToken, setDeviceToken] = useState('');
  const codeId = useId('code');
  const load = () => get('/api/me/notification-channels').then(setState, setError);
  useEffect(() => {
    load();
  }, []);
  const run = async (action, after) => {
    setError(null);
    setNotice(null);
    try {
      const answer = await action();
      if (after) after(answer);
      load();
    } catch (failure) {
      setError(failure);
    }
  };
  const link = (e) => {
    e.preventDefault();
    run(() => post(`/api/me/notification-channels/${channel}`, { address: address.trim() }), (answer) => {
      setPending(answer);
      setCode('');
      setNotice(`A 6-digit code was sent to ${answer.address}; it expires ${formatTime(answer.code_expires_at)}.`);
    });
  };
  const verify = (e) => {
    e.preventDefault();
    run(() => post(`/api/me/notification-channels/${pending.channel}/verify`, { code: code.trim() }), () => {
      setNotice(`${CHANNEL_LABELS[pending.channel]} linked.`);
      setPending(null);
      setAddress('');
    });
  };
  const register = (e) => {
    e.preventDefault();
    run(() => post('/api/me/devices', { platform, token: deviceToken.trim() }), () => {
      setNotice('Device registered.');
      setDeviceToken('');
    });
  };
  return html`<section class="card" aria-labelledby="links-title">
    <h2 id="links-title">Discord, Telegram and devices</h2>
    <${ErrorBox} error=${error} />
    <${Notice}>${notice}<//>
    <ul class="links" data-testid="links">${(state?.links || []).map((l) => html`<li>
      <strong>${CHANNEL_LABELS[l.channel]}</strong>: ${l.address} · <span class="badge">${l.status}</span>
      ${l.linked_at ? html` <small>since ${formatTime(l.linked_at)}</small>` : null}
      <button type="button" onClick=${() => run(() => del(`/api/me/notification-channels/${l.channel}`), () => setNotice(`${CHANNEL_LABELS[l.channel]} unlinked.`))}
        aria-label=${`Unlink ${CHANNEL_LABELS[l.channel]}`}>Unlink</button></li>`)}</ul>
    ${state && state.links.length === 0 ? html`<p class="muted">No Discord or Telegram linked.</p>` : null}
    ${pending
      ? html`<form onSubmit=${verify} class="row">
          <div class="field"><label for=${codeId}>Code sent to ${CHANNEL_LABELS[pending.channel]}</label>
            <input id=${codeId} name="code" inputmode="numeric" pattern="[0-9]{6}" maxLength="6" required value=${code} onInput=${(e) => setCode(e.currentTarget.value)} autocomplete="one-time-code" /></div>
          <button type="submit" class="primary">Verify</button>
          <button type="button" onClick=${() => setPending(null)}>Cancel</button>
        </form>`
      : html`<form onSubmit=${link} class="row">
          <${Select} label="Channel" name="link_channel" value=${channel} onChange=${setChannel} options=${[['discord', 'Discord'], ['telegram', 'Telegram']]} />
          <${TextInput} label=${channel === 'discord' ? 'Discord webhook URL' : 'Telegram chat id'} name="link_address" value=${address} onInput=${setAddress} required
            hint=${channel === 'discord' ? 'https://discord.com/api/webhooks/…' : 'A number, or @channelname'} />
          <button type="submit">Send a code</button>
        </form>`}
    <h3>Devices (push)</h3>
    <ul data-testid="devices">${(state?.devices || []).map((d) => html`<li>${d.platform} · registered ${formatTime(d.created_at)}
      <button type="button" onClick=${() => run(() => del(`/api/me/devices/${enc(d.device_id)}`), () => setNotice('Device removed.'))} aria-label=${`Remove the ${d.platform} device registered ${formatTime(d.created_at)}`}>Remove</button></li>`)}</ul>
    ${state && state.devices.length === 0 ? html`<p class="muted">No devices.</p>` : null}
    <form onSubmit=${register} class="row">
      <${Select} label="Platform" name="platform" value=${platform} onChange=${setPlatform} options=${[['android', 'Android (FCM)'], ['ios', 'iOS (APNs)']]} />
      <${TextInput} label="Device token" name="device_token" value=${deviceToken} onInput=${setDeviceToken} required />
      <button type="submit">Register device</button>
    </form>
  </section>`;
}
