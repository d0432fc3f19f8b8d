// Event chat: the traders' panel on the event page (history paged by a cursor, live messages over `chat:<event>`,
// post, reply, react, report, presence) and the moderators' screen (the same panel with moderation on each message,
// the reports queue, mutes, bans, the word filter, the chat settings and the moderation audit). The API stores text
// as given: every text here is rendered as a text node (Preact), never as markup.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, enc, get, post, put, query } from '../lib/api.js';
import { formatCount, formatTime } from '../lib/format.js';
import { connectLive } from '../lib/live.js';
import { ErrorBox, Notice, ReasonAction, Select, Status, TextInput, html, useId } from '../lib/ui.js';

/** How a message's author is shown: their public name (the API never tells traders another's user id);
 * moderators read the user id beside it. */
function authorOf(message) {
  const name = message.author_name || message.user_id || 'someone';
  return message.user_id && message.author_name ? `${name} (${message.user_id})` : name;
}

/** Whether I wrote it: by my public handle, or (moderators' answers carry it) by my user id. */
function isMine(message, me) {
  return Boolean((me.handle && message.author && message.author === me.handle) || (message.user_id && message.user_id === me.sub));
}

const REACTIONS = [
  ['👍', 'thumbs up'],
  ['🔥', 'fire'],
  ['🎉', 'party'],
];
const PAGE = 30;

/** Why the chat refused me, in words, from the API's error (muted: until when and why; banned: why). */
export function refusalText(failure) {
  if (!(failure instanceof ApiError)) return null;
  const details = failure.details && !Array.isArray(failure.details) ? failure.details : {};
  switch (failure.code) {
    case 'chat_muted':
      return `You are muted in this chat until ${formatTime(details.until)}: ${details.reason || 'no reason given'}`;
    case 'chat_banned':
      return `You are banned from this chat: ${details.reason || 'no reason given'}`;
    case 'chat_participants_only':
      return 'Only participants can write here: join the competition first.';
    case 'chat_read_only':
      return 'This chat is read-only: only the organisers write here.';
    case 'chat_disabled':
    case 'feature_disabled':
      return 'The chat is off for this event.';
    case 'chat_filtered':
      return `Your message was refused: “${failure.details?.[0]?.word ?? 'a word'}” is not allowed here.`;
    case 'chat_rate_limited':
      return 'You are posting too fast: wait a moment.';
    default:
      return null;
  }
}

function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function merge(list, incoming) {
  const seen = new Map(list.map((m) => [m.id, m]));
  for (const message of incoming) seen.set(message.id, { ...seen.get(message.id), ...message });
  return [...seen.values()].sort(byId);
}

/** The event's chat, kept live: [state, actions]. One WebSocket connection for `chat:<event>`. */
function useChat(eventId, token) {
  const [messages, setMessages] = useState([]);
  const [pinned, setPinned] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [watching, setWatching] = useState(null);
  const [state, setState] = useState('connecting');
  const [readError, setReadError] = useState(null);
  const loadFirst = async () => {
    try {
      const page = await get(`/api/events/${enc(eventId)}/chat${query({ limit: PAGE })}`);
      setMessages((old) => merge(old, page.items));
      setPinned(page.pinned);
      setCursor(page.next_cursor);
      setWatching(page.watching);
      setReadError(null);
    } catch (failure) {
      setReadError(failure);
    }
  };
  const loadOlder = async () => {
    const page = await get(`/api/events/${enc(eventId)}/chat${query({ limit: PAGE, cursor })}`);
    setMessages((old) => merge(old, page.items));
    setCursor(page.next_cursor);
  };
  useEffect(() => {
    loadFirst();
    const close = connectLive(token, [`chat:${eventId}`], (message) => {
      const data = message.data || {};
      if (message.type === 'subscribed') loadFirst(); // subscribed first, then read: nothing falls between
      else if (message.type === 'chat_message' && data.event_id === eventId) setMessages((old) => merge(old, [data]));
      else if (message.type === 'chat_deleted' && data.event_id === eventId) {
        setMessages((old) => old.filter((m) => m.id !== data.message_id));
        setPinned((old) => old.filter((m) => m.id !== data.message_id));
      } else if (message.type === 'chat_reaction' && data.event_id === eventId) {
        setMessages((old) => old.map((m) => (m.id === data.message_id ? { ...m, reactions: data.reactions } : m)));
      } else if (message.type === 'chat_pinned' && data.event_id === eventId) {
        const changed = data.message;
        setMessages((old) => merge(old, old.some((m) => m.id === changed.id) ? [changed] : []));
        setPinned((old) => (data.pinned ? merge(old.filter((m) => m.id !== changed.id), [changed]) : old.filter((m) => m.id !== changed.id)));
      } else if (message.type === 'chat_presence' && data.event_id === eventId) setWatching(data.watching);
      else if (message.type === 'error') {
        setReadError(new ApiError(403, { error: message.error || { message: message.message } }));
      }
    }, setState);
    return close;
  }, [eventId, token]);
  const replace = (changed) => setMessages((old) => merge(old, [changed]));
  const remove = (id) => {
    setMessages((old) => old.filter((m) => m.id !== id));
    setPinned((old) => old.filter((m) => m.id !== id));
  };
  return { messages, pinned, cursor, watching, state, readError, loadOlder, reload: loadFirst, replace, remove, setPinned };
}

function Reactions({ message, eventId, mine, setMine, onChanged, disabled }) {
  const react = async (emoji) => {
    const key = `${message.id}:${emoji}`;
    const remove = mine.has(key);
    const answer = await post(`/api/events/${enc(eventId)}/chat/${enc(message.id)}/reactions`, { emoji, remove });
    setMine((old) => {
      const next = new Set(old);
      if (remove) next.delete(key);
      else next.add(key);
      return next;
    });
    onChanged(answer.message);
  };
  const shown = new Map(REACTIONS);
  for (const emoji of Object.keys(message.reactions || {})) if (!shown.has(emoji)) shown.set(emoji, emoji);
  return html`<div class="reactions" role="group" aria-label=${`Reactions to ${authorOf(message)}'s message`}>
    ${[...shown].map(([emoji, name]) => {
      const count = message.reactions?.[emoji] || 0;
      const pressed = mine.has(`${message.id}:${emoji}`);
      return html`<button type="button" class="reaction" aria-pressed=${pressed ? 'true' : 'false'} disabled=${disabled}
        aria-label=${`React ${name} to ${authorOf(message)}'s message${count ? `, ${formatCount(count)} so far` : ''}`}
        data-emoji=${emoji} onClick=${() => react(emoji).catch(() => {})}>${emoji}${count ? html` <span data-testid="reaction-count">${formatCount(count)}</span>` : null}</button>`;
    })}
  </div>`;
}

function Message({ message, eventId, me, moderator, onReply, mine, setMine, chat, onModerated, canWrite }) {
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const base = `/api/events/${enc(eventId)}/chat/${enc(message.id)}`;
  const remove = async (reason) => {
    await del(`${base}${query({ reason })}`);
    chat.remove(message.id);
    onModerated?.();
  };
  const pin = async (on) => {
    setError(null);
    try {
      const answer = on ? await post(`${base}/pin`) : await del(`${base}/pin`);
      chat.replace(answer);
      chat.setPinned((old) => (on ? merge(old, [answer]) : old.filter((m) => m.id !== answer.id)));
      onModerated?.();
    } catch (failure) {
      setError(failure);
    }
  };
  const report = async (reason) => {
    await post(`${base}/report`, { reason });
    setNotice('Reported: the moderators will look at it.');
  };
  const own = isMine(message, me);
  const repliedTo = message.reply_to ? chat.messages.find((m) => m.id === message.reply_to) : null;
  const repliedName = repliedTo ? authorOf(repliedTo) : message.reply_to_user || 'an earlier message';
  return html`<li class=${`chat-message${own ? ' mine' : ''}`} data-message=${message.id} data-author=${message.author || message.user_id || ''}>
    <div class="chat-meta"><strong>${authorOf(message)}${own ? ' (you)' : ''}</strong> <small>${formatTime(message.created_at)}</small>
      ${message.pinned ? html` <span class="badge">pinned</span>` : null}</div>
    ${message.reply_to ? html`<div class="chat-reply-to muted">↪ reply to ${repliedName}</div>` : null}
    <p class="chat-text" data-testid="chat-text">${message.text}</p>
    <div class="row chat-actions">
      <${Reactions} message=${message} eventId=${eventId} mine=${mine} setMine=${setMine} onChanged=${chat.replace} disabled=${!canWrite} />
      ${canWrite ? html`<button type="button" class="link" aria-label=${`Reply to ${authorOf(message)}`} onClick=${() => onReply(message)}>Reply</button>` : null}
      ${!own && !moderator ? html`<${ReasonAction} label="Report" name=${`report-${message.id}`} onConfirm=${report} />` : null}
      ${own && !moderator ? html`<${ReasonAction} label="Delete" name=${`delete-${message.id}`} danger onConfirm=${remove} />` : null}
      ${moderator
        ? html`<${ReasonAction} label="Delete" name=${`delete-${message.id}`} danger onConfirm=${remove} />
            <button type="button" onClick=${() => pin(!message.pinned)} data-action=${`pin-${message.id}`}>${message.pinned ? 'Unpin' : 'Pin'}</button>`
        : null}
    </div>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
  </li>`;
}

/** The chat panel: on the trader's event page, and (moderator) on the admin's Chat tab. */
export function EventChat({ eventId, session, moderator = false, onModerated }) {
  const chat = useChat(eventId, session.token);
  const [handle, setHandle] = useState(null); // my public handle: how the chat names my messages to me
  useEffect(() => {
    get('/api/me/profile').then((profile) => setHandle(profile.identity.handle), () => setHandle(null));
  }, [session.sub]);
  const [text, setText] = useState('');
  const [replyTo, setReplyTo] = useState(null);
  const [error, setError] = useState(null);
  const [refusal, setRefusal] = useState(null); // muted / banned / ...: why I cannot post
  const [mine, setMine] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  const id = useId('chat');
  const readRefusal = chat.readError ? refusalText(chat.readError) : null;
  const mutedUntil = refusal?.until ? new Date(refusal.until).getTime() : null;
  const muted = mutedUntil !== null && mutedUntil > Date.now();
  const send = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { text: text.trim(), ...(replyTo ? { reply_to: replyTo.id } : {}) };
      const message = await post(`/api/events/${enc(eventId)}/chat`, body);
      chat.replace(message);
      setText('');
      setReplyTo(null);
      setRefusal(null);
    } catch (failure) {
      const why = refusalText(failure);
      if (why) setRefusal({ text: why, until: failure.code === 'chat_muted' ? failure.details?.until : null, code: failure.code });
      else setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const reply = (message) => {
    setReplyTo(message);
    input.current?.focus();
  };
  if (readRefusal) {
    return html`<section class="card chat" aria-labelledby=${`${id}-title`} data-testid="chat">
      <h2 id=${`${id}-title`}>Event chat</h2>
      <p class="error" role="alert" data-testid="chat-refusal">${readRefusal}</p>
    </section>`;
  }
  return html`<section class="card chat" aria-labelledby=${`${id}-title`} data-testid="chat" data-state=${chat.state}>
    <div class="row spread"><h2 id=${`${id}-title`}>Event chat</h2>
      <span class="muted" data-testid="chat-presence">${chat.watching === null ? '' : `${formatCount(chat.watching)} watching`}</span></div>
    <${ErrorBox} error=${chat.readError} />
    ${chat.pinned.length
      ? html`<div class="chat-pinned" aria-label="Pinned messages" role="region" data-testid="chat-pinned">
          ${chat.pinned.map((m) => html`<p><span class="badge">pinned</span> <strong>${authorOf(m)}</strong>: <span>${m.text}</span></p>`)}</div>`
      : null}
    ${chat.cursor ? html`<button type="button" onClick=${() => chat.loadOlder().catch(setError)}>Load older messages</button>` : null}
    <ol class="chat-log" role="log" aria-label="Chat messages" data-testid="chat-log">
      ${chat.messages.map((m) => html`<${Message} key=${m.id} message=${m} eventId=${eventId} me=${{ sub: session.sub, handle }} moderator=${moderator}
        onReply=${reply} mine=${mine} setMine=${setMine} chat=${chat} onModerated=${onModerated} canWrite=${!muted} />`)}
    </ol>
    ${chat.messages.length === 0 ? html`<p class="muted">No messages yet.</p>` : null}
    ${refusal ? html`<p class="error" role="alert" data-testid="chat-refusal">${refusal.text}</p>` : null}
    <form class="chat-form" onSubmit=${send}>
      ${replyTo
        ? html`<p class="muted" data-testid="replying">Replying to ${authorOf(replyTo)}: “${replyTo.text.slice(0, 80)}”
            <button type="button" class="link" onClick=${() => setReplyTo(null)}>Cancel reply</button></p>`
        : null}
      <div class="field">
        <label for=${`${id}-text`}>Message to the event chat</label>
        <textarea id=${`${id}-text`} ref=${input} rows="2" maxLength="1000" value=${text} disabled=${muted}
          onInput=${(e) => setText(e.currentTarget.value)}
          onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); e.currentTarget.form.requestSubmit(); } }}></textarea>
        <small>Enter sends, Shift+Enter starts a new line. ${formatCount(1000 - text.length)} characters left.</small>
      </div>
      <button type="submit" class="primary" disabled=${busy || muted || !text.trim()}>Send</button>
      <${ErrorBox} error=${error} />
    </form>
  </section>`;
}

function Reports({ eventId, onResolved }) {
  const [status, setStatus] = useState('open');
  const [page, setPage] = useState({ items: [], next_cursor: null });
  const [error, setError] = useState(null);
  const load = async (cursor) => {
    try {
      const answer = await get(`/api/events/${enc(eventId)}/chat/reports${query({ status, cursor })}`);
      setPage((old) => ({ items: cursor ? [...old.items, ...answer.items] : answer.items, next_cursor: answer.next_cursor }));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    load(null);
    const timer = setInterval(() => load(null), 5000); // new reports come in without a push: polled
    return () => clearInterval(timer);
  }, [eventId, status]);
  const resolve = (report, outcome) => async (note) => {
    await post(`/api/events/${enc(eventId)}/chat/reports/${enc(report.id)}/resolve`, { outcome, note });
    await load(null);
    onResolved();
  };
  return html`<section aria-labelledby="reports-title">
    <h2 id="reports-title">Reports</h2>
    <${Select} label="Reports to show" name="report-status" value=${status} onChange=${setStatus} options=${[['open', 'Open'], ['resolved', 'Resolved']]} />
    <${ErrorBox} error=${error} />
    <ul class="cards" data-testid="chat-reports">
      ${page.items.map((r) => html`<li class="card" data-report=${r.id}>
        <div><strong>${r.reporter}</strong> reported <strong>${r.author}</strong> · ${formatTime(r.created_at)} <${Status} value=${r.status} /></div>
        <blockquote class="chat-text">${r.text}</blockquote>
        <div>Reason: ${r.reason}</div>
        ${r.outcome ? html`<div>Outcome: ${r.outcome} by ${r.resolved_by}${r.note ? ` (“${r.note}”)` : ''}</div>` : null}
        ${r.status === 'open'
          ? html`<div class="actions">
              <${ReasonAction} label="Dismiss" name=${`dismiss-${r.id}`} onConfirm=${resolve(r, 'dismissed')} />
              <${ReasonAction} label="Delete the message" name=${`uphold-${r.id}`} danger onConfirm=${resolve(r, 'deleted')} />
            </div>`
          : null}
      </li>`)}
    </ul>
    ${page.items.length === 0 && !error ? html`<p class="muted">No ${status} reports.</p>` : null}
    ${page.next_cursor ? html`<button type="button" onClick=${() => load(page.next_cursor)}>More reports</button>` : null}
  </section>`;
}

function UserSanctions({ eventId, onDone }) {
  const [user, setUser] = useState('');
  const [minutes, setMinutes] = useState('60');
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const target = user.trim();
  const act = (what) => async (reason) => {
    setError(null);
    const base = `/api/events/${enc(eventId)}/chat`;
    if (what === 'mute') {
      const answer = await post(`${base}/mutes`, { user_id: target, minutes: Number(minutes), reason });
      setNotice(`${answer.user_id} is muted until ${formatTime(answer.until)}.`);
    } else if (what === 'unmute') {
      const answer = await del(`${base}/mutes/${enc(target)}${query({ reason })}`);
      setNotice(answer.lifted ? `${target} may write again.` : `${target} was not muted.`);
    } else if (what === 'ban') {
      await post(`${base}/bans`, { user_id: target, reason });
      setNotice(`${target} is banned from this chat.`);
    } else {
      const answer = await del(`${base}/bans/${enc(target)}${query({ reason })}`);
      setNotice(answer.lifted ? `${target}'s ban is lifted.` : `${target} was not banned.`);
    }
    onDone();
  };
  return html`<section aria-labelledby="sanctions-title">
    <h2 id="sanctions-title">Mute or ban</h2>
    <div class="grid">
      <${TextInput} label="User id to mute or ban" name="sanction-user" value=${user} onInput=${setUser} />
      <${TextInput} label="Mute for (minutes)" name="mute-minutes" type="number" min="1" max="43200" value=${minutes} onInput=${setMinutes} />
    </div>
    <div class="actions">
      <${ReasonAction} label="Mute" name="mute" disabled=${!target || !(Number(minutes) >= 1)} onConfirm=${act('mute')} />
      <${ReasonAction} label="Unmute" name="unmute" disabled=${!target} onConfirm=${act('unmute')} />
      <${ReasonAction} label="Ban" name="ban" danger disabled=${!target} onConfirm=${act('ban')} />
      <${ReasonAction} label="Unban" name="unban" disabled=${!target} onConfirm=${act('unban')} />
    </div>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
  </section>`;
}

function WordFilter({ eventId, onDone }) {
  const [words, setWords] = useState('');
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/events/${enc(eventId)}/chat/filter`).then((answer) => setWords(answer.words.join('\n')), setError);
  }, [eventId]);
  const save = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const list = words.split('\n').map((w) => w.trim()).filter(Boolean);
      const answer = await put(`/api/events/${enc(eventId)}/chat/filter`, { words: list });
      setWords(answer.words.join('\n'));
      setNotice(`Word filter saved: ${formatCount(answer.words.length)} ${answer.words.length === 1 ? 'entry' : 'entries'}.`);
      onDone();
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<form onSubmit=${save} aria-labelledby="filter-title">
    <h2 id="filter-title">Word filter</h2>
    <div class="field"><label for="filter-words">Refused words and phrases (one a line)</label>
      <textarea id="filter-words" rows="4" value=${words} onInput=${(e) => setWords(e.currentTarget.value)}></textarea>
      <small>Whole words, compared without case or accents.</small></div>
    <button type="submit">Save the word filter</button>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
  </form>`;
}

function Settings({ eventId, onDone }) {
  const [value, setValue] = useState(null);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/events/${enc(eventId)}/chat/settings`).then(setValue, setError);
  }, [eventId]);
  if (!value) return html`<${ErrorBox} error=${error} />`;
  const save = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      setValue(await put(`/api/events/${enc(eventId)}/chat/settings`, { enabled: value.enabled, read: value.read, write: value.write }));
      setNotice('Chat settings saved.');
      onDone();
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<form onSubmit=${save} aria-labelledby="chat-settings-title">
    <h2 id="chat-settings-title">Chat settings</h2>
    <div class="field checkbox"><input id="chat-enabled" type="checkbox" checked=${value.enabled} onChange=${(e) => setValue({ ...value, enabled: e.currentTarget.checked })} />
      <label for="chat-enabled">Chat on</label></div>
    <div class="grid">
      <${Select} label="Who reads" name="chat-read" value=${value.read} onChange=${(read) => setValue({ ...value, read })} options=${[['signed_in', 'Anyone signed in'], ['participants', 'Participants']]} />
      <${Select} label="Who writes" name="chat-write" value=${value.write} onChange=${(write) => setValue({ ...value, write })} options=${[['participants', 'Participants'], ['managers', 'Organisers only']]} />
    </div>
    <button type="submit">Save chat settings</button>
    <${Notice}>${notice}<//>
    <${ErrorBox} error=${error} />
  </form>`;
}

const ACTION_WORDS = {
  chat_mute: 'muted',
  chat_unmute: 'unmuted',
  chat_ban: 'banned',
  chat_unban: 'unbanned',
  chat_delete: 'deleted a message of',
  chat_delete_own: 'deleted their own message',
  chat_pin: 'pinned a message',
  chat_unpin: 'unpinned a message',
  chat_filter: 'set the word filter',
  chat_settings: 'changed the chat settings',
  chat_report_resolve: 'resolved a report',
};

/** An audit trail from the API, newest first, paged by its cursor: `path` answers {items, next_cursor}. */
export function AuditTrail({ path, tick, testid, describe, title }) {
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const load = async (from) => {
    try {
      const page = await get(`${path}${query({ limit: 20, cursor: from })}`);
      setItems((old) => (from ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    load(null);
  }, [path, tick]);
  return html`<section aria-label=${title}>
    <${ErrorBox} error=${error} />
    <ol class="feed" data-testid=${testid}>${items.map((entry) => html`<li data-action=${entry.action}>${describe(entry)}</li>`)}</ol>
    ${items.length === 0 && !error ? html`<p class="muted">Nothing yet.</p>` : null}
    ${cursor ? html`<button type="button" onClick=${() => load(cursor)}>Older entries</button>` : null}
  </section>`;
}

function describeChat(entry) {
  const words = ACTION_WORDS[entry.action] || entry.action;
  const d = entry.details || {};
  const whom = entry.action === 'chat_delete_own' ? null : entry.user_id || d.author;
  return html`${formatTime(entry.at)}: <strong>${entry.actor}</strong> ${words}${whom ? html` <strong>${whom}</strong>` : null}
    ${d.until ? ` until ${formatTime(d.until)}` : ''} (“${entry.reason}”)${d.text ? html`: <q class="chat-text">${d.text}</q>` : null}
    ${Array.isArray(d.words) ? `: ${d.words.join(', ') || 'empty'}` : ''}${d.outcome ? ` → ${d.outcome}` : ''}`;
}

/** The admin's Chat tab: the live chat with moderation on each message, the reports queue, mutes and bans, the
 * word filter, the settings and the audit. */
export function ChatModeration({ event, session }) {
  const [tick, setTick] = useState(0);
  const changed = () => setTick((n) => n + 1);
  return html`<div class="columns">
    <div>
      <${EventChat} eventId=${event.id} session=${session} moderator onModerated=${changed} />
      <${Reports} eventId=${event.id} onResolved=${changed} />
    </div>
    <div>
      <${UserSanctions} eventId=${event.id} onDone=${changed} />
      <${WordFilter} eventId=${event.id} onDone=${changed} />
      <${Settings} eventId=${event.id} onDone=${changed} />
      <h2>Moderation audit</h2>
      <${AuditTrail} title="Chat moderation audit" path=${`/api/events/${enc(event.id)}/chat/audit`} tick=${tick} testid="chat-audit" describe=${describeChat} />
    </div>
  </div>`;
}
