// The admin console's announcements: compose (title, body, an event's participants or every opted-in user, the
// channels), preview each channel's rendering and the audience, send, and the list with deliveries per channel.
import { useState } from 'preact/hooks';
import { enc, get, post, query } from '../lib/api.js';
import { formatCount, formatTime } from '../lib/format.js';
import { ErrorBox, Notice, Select, TextInput, html, useId, useLoad } from '../lib/ui.js';

const CHANNELS = [['in_app', 'In app'], ['email', 'Email'], ['discord', 'Discord'], ['telegram', 'Telegram'], ['push', 'Push']];
const CHANNEL_NAME = Object.fromEntries(CHANNELS);
const STATUSES = ['queued', 'held', 'sent', 'failed', 'suppressed'];

export function Announcements({ session }) {
  const admin = session.groups.includes('admin');
  const [events] = useLoad(() => get('/api/events?limit=100'), []);
  const [page, listError, reloadList] = useLoad(() => get(`/api/admin/announcements${query({ limit: 20 })}`), []);
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [target, setTarget] = useState('');
  const [channels, setChannels] = useState(['in_app']);
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState(false);
  const bodyId = useId('body');
  const choices = (events?.items || []).filter((e) => e.status !== 'DRAFT' && e.status !== 'CANCELLED');
  const options = [
    ...(admin ? [['', 'Everyone who opted in to announcements']] : [['', 'Choose an event']]),
    ...choices.map((e) => [e.id, `Participants of ${e.name} (${e.status})`]),
  ];
  const draft = () => ({ ...(target ? { event_id: target } : {}), title: title.trim(), body: body.trim(), channels });
  const ready = title.trim() && body.trim() && channels.length && (admin || target);
  const change = (setter) => (value) => {
    setter(value);
    setPreview(null); // a preview is of the draft as it was
  };
  const toggle = (channel) => (e) => {
    const on = e.currentTarget.checked;
    setChannels((old) => (on ? [...old.filter((c) => c !== channel), channel] : old.filter((c) => c !== channel)));
    setPreview(null);
  };
  const act = async (action) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const doPreview = () => act(async () => setPreview(await post('/api/admin/announcements/preview', draft())));
  const send = () =>
    act(async () => {
      const sent = await post('/api/admin/announcements', draft());
      setNotice(`Announcement “${sent.title}” sent.`);
      setTitle('');
      setBody('');
      setPreview(null);
      reloadList();
    });
  return html`<section aria-labelledby="ann-title">
    <h1 id="ann-title">Announcements</h1>
    <form class="card" onSubmit=${(e) => { e.preventDefault(); doPreview(); }}>
      <h2>New announcement</h2>
      <${TextInput} label="Title" name="title" value=${title} onInput=${change(setTitle)} required maxLength="120" />
      <div class="field"><label for=${bodyId}>Message</label>
        <textarea id=${bodyId} name="body" rows="4" maxLength="500" required value=${body} onInput=${(e) => change(setBody)(e.currentTarget.value)}></textarea>
        <small>${body.length} / 500, plain text</small></div>
      <${Select} label="Send to" name="audience" value=${target} onChange=${change(setTarget)} options=${options} />
      <fieldset><legend>Channels (each person's preferences still apply)</legend>
        <div class="row">${CHANNELS.map(([key, label]) => html`<label class="check"><input type="checkbox" name="channels" value=${key} checked=${channels.includes(key)} onChange=${toggle(key)} /> ${label}</label>`)}</div>
      </fieldset>
      <div class="row">
        <button type="submit" disabled=${busy || !ready}>Preview</button>
        <button type="button" class="primary" disabled=${busy || !ready || !preview} onClick=${send}
          title=${preview ? '' : 'Preview first'}>Send announcement</button>
      </div>
      ${!preview && ready ? html`<small class="muted">Preview it first: you see each channel's message and how many people it reaches.</small>` : null}
      <${ErrorBox} error=${error} />
      <${Notice}>${notice}<//>
    </form>
    ${preview ? html`<${Preview} preview=${preview} />` : null}
    <section aria-labelledby="ann-list">
      <div class="row spread"><h2 id="ann-list">Sent announcements</h2><button type="button" onClick=${reloadList}>Refresh</button></div>
      <${ErrorBox} error=${listError} />
      ${page && page.items.length === 0 ? html`<p class="muted">None yet.</p>` : null}
      <ul class="cards" data-testid="announcements-list">${(page?.items || []).map((a) => html`<${Sent} key=${a.announcement_id} item=${a} events=${choices} />`)}</ul>
    </section>
  </section>`;
}

function Preview({ preview }) {
  return html`<section class="card" aria-labelledby="preview-title" data-testid="preview">
    <h2 id="preview-title">Preview</h2>
    <p data-testid="audience">Reaches ${preview.audience_capped ? 'at least ' : ''}${formatCount(preview.audience)} ${preview.audience === 1 ? 'person' : 'people'}.</p>
    <div class="preview-grid">${preview.rendered.map((m) => html`<article class="preview" data-channel=${m.channel}>
      <h3>${CHANNEL_NAME[m.channel] || m.channel}</h3>
      <p><strong>${m.title}</strong></p>
      <p class="note-body">${m.body}</p>
      ${m.html ? html`<details><summary>Email as it looks</summary>
        <iframe class="email-frame" sandbox="" srcdoc=${m.html} title=${`The ${m.title} email`}></iframe></details>` : null}
    </article>`)}</div>
  </section>`;
}

function Sent({ item, events }) {
  const [detail, error, reload] = useLoad(() => get(`/api/admin/announcements/${enc(item.announcement_id)}`), [item.announcement_id]);
  const event = item.event_id ? events.find((e) => e.id === item.event_id) : null;
  const deliveries = detail?.deliveries || {};
  return html`<li class="card" data-announcement=${item.announcement_id}>
    <div class="row spread"><strong>${item.title}</strong><small>${formatTime(item.created_at)} by ${item.created_by}</small></div>
    <p class="note-body">${item.body}</p>
    <p class="muted">To ${item.event_id ? `the participants of ${event ? event.name : item.event_id}` : 'everyone who opted in'}</p>
    <${ErrorBox} error=${error} />
    <div class="scroll"><table class="deliveries"><caption>Deliveries per channel</caption>
      <thead><tr><th scope="col">Channel</th>${STATUSES.map((s) => html`<th scope="col" class="num">${s}</th>`)}</tr></thead>
      <tbody>${item.channels.map((c) => html`<tr data-channel=${c}><th scope="row">${CHANNEL_NAME[c] || c}</th>
        ${STATUSES.map((s) => html`<td class="num" data-status=${s}>${detail ? formatCount(deliveries[c]?.[s] ?? 0) : '…'}</td>`)}</tr>`)}</tbody>
    </table></div>
    <button type="button" onClick=${reload} aria-label=${`Refresh the deliveries of “${item.title}”`}>Refresh deliveries</button>
  </li>`;
}
