// The prize-table editor: tiers over rank ranges, each with its type and split. It sends exactly what the API
// takes (decimal strings, fields per split); the API's own check answers problems on save, and the dry run
// (prizes/validate) shows who would get what once the table is saved.
import { useId } from '../lib/ui.js';
import { html } from '../lib/ui.js';
import { formatDecimal } from '../lib/decimal.js';

const SPLITS = {
  each: ['amount'],
  shared: ['pool'],
  pro_rata: ['pool'],
  growing: ['base', 'per_participant', 'maximum', 'pool_split'],
};

export function blankTier(rankFrom = 1) {
  return { rank_from: rankFrom, rank_to: rankFrom, type: 'points', split: 'each', amount: '', pool: '', token: 'USDT', description: '', base: '', per_participant: '', maximum: '', pool_split: 'equal' };
}

export function tierFromApi(tier) {
  return { ...blankTier(), ...Object.fromEntries(Object.entries(tier).filter(([, v]) => v !== null && v !== undefined)) };
}

/** A tier as the API takes it: only the fields its type and split use. */
export function tierToApi(tier) {
  const out = { rank_from: Number(tier.rank_from), rank_to: Number(tier.rank_to), type: tier.type };
  if (tier.type === 'custom') {
    out.description = tier.description;
    return out;
  }
  if (tier.type === 'token') out.token = tier.token;
  out.split = tier.split;
  for (const field of SPLITS[tier.split]) out[field] = tier[field];
  return out;
}

/** Problems the editor can see before asking the API: overlapping or inverted ranges, missing amounts. */
export function localProblems(tiers) {
  const problems = [];
  const sorted = tiers.map((t, i) => ({ ...t, i })).sort((a, b) => a.rank_from - b.rank_from);
  sorted.forEach((tier, n) => {
    const label = `Tier ${tier.i + 1}`;
    if (!(Number(tier.rank_from) >= 1) || !(Number(tier.rank_to) >= Number(tier.rank_from))) problems.push(`${label}: ranks must run from 1 upwards, “to” not below “from”.`);
    if (n && Number(tier.rank_from) <= Number(sorted[n - 1].rank_to)) problems.push(`${label}: ranks overlap tier ${sorted[n - 1].i + 1}.`);
    if (tier.type === 'custom' && !String(tier.description).trim()) problems.push(`${label}: a custom prize needs a description.`);
    if (tier.type === 'token' && !String(tier.token).trim()) problems.push(`${label}: a token prize needs its token.`);
    if (tier.type !== 'custom') {
      for (const field of SPLITS[tier.split].filter((f) => f !== 'pool_split')) {
        if (!/^\d+(\.\d+)?$/.test(String(tier[field]).trim())) problems.push(`${label}: ${field.replace('_', ' ')} must be a decimal amount such as 100 or 12.5.`);
      }
    }
  });
  return problems;
}

function Cell({ label, value, onInput, type = 'text', options, disabled, width }) {
  const id = useId('tier');
  return html`<div class="cell" style=${width ? `max-width:${width}` : ''}>
    <label for=${id}>${label}</label>
    ${options
      ? html`<select id=${id} value=${value} disabled=${disabled} onChange=${(e) => onInput(e.currentTarget.value)}>
          ${options.map((o) => html`<option value=${o} selected=${o === value}>${o}</option>`)}
        </select>`
      : html`<input id=${id} type=${type} value=${value} disabled=${disabled} inputmode=${type === 'text' ? 'decimal' : undefined}
          onInput=${(e) => onInput(e.currentTarget.value)} />`}
  </div>`;
}

export function PrizeTableEditor({ tiers, onChange, disabled }) {
  const set = (index, field, value) => onChange(tiers.map((t, i) => (i === index ? { ...t, [field]: value } : t)));
  const remove = (index) => onChange(tiers.filter((_, i) => i !== index));
  const add = () => onChange([...tiers, blankTier(tiers.length ? Number(tiers[tiers.length - 1].rank_to) + 1 : 1)]);
  return html`<fieldset class="prize-table" disabled=${disabled}>
    <legend>Prize table</legend>
    ${tiers.length === 0 ? html`<p class="muted">No prizes yet.</p>` : null}
    ${tiers.map(
      (tier, i) => html`<div class="tier" data-tier=${i}>
        <strong class="tier-name">Tier ${i + 1}</strong>
        <${Cell} label="Rank from" type="number" value=${tier.rank_from} onInput=${(v) => set(i, 'rank_from', v)} width="6rem" />
        <${Cell} label="Rank to" type="number" value=${tier.rank_to} onInput=${(v) => set(i, 'rank_to', v)} width="6rem" />
        <${Cell} label="Type" value=${tier.type} options=${['points', 'token', 'custom']} onInput=${(v) => set(i, 'type', v)} />
        ${tier.type === 'token' ? html`<${Cell} label="Token" value=${tier.token} onInput=${(v) => set(i, 'token', v)} width="7rem" />` : null}
        ${tier.type === 'custom'
          ? html`<${Cell} label="Description" value=${tier.description} onInput=${(v) => set(i, 'description', v)} />`
          : html`<${Cell} label="Split" value=${tier.split} options=${Object.keys(SPLITS)} onInput=${(v) => set(i, 'split', v)} />
              ${SPLITS[tier.split].map((field) =>
                field === 'pool_split'
                  ? html`<${Cell} label="Pool split" value=${tier.pool_split} options=${['equal', 'pro_rata']} onInput=${(v) => set(i, field, v)} />`
                  : html`<${Cell} label=${field.replace('_', ' ')} value=${tier[field]} onInput=${(v) => set(i, field, v)} width="9rem" />`,
              )}`}
        <button type="button" class="link" onClick=${() => remove(i)} aria-label=${`Remove tier ${i + 1}`}>Remove</button>
      </div>`,
    )}
    <button type="button" onClick=${add}>Add a tier</button>
  </fieldset>`;
}

/** What the dry run answered: every problem, who would get what, the pools, what is paid and the treasury. */
export function ValidationPreview({ result }) {
  if (!result) return null;
  const totals = (label, values) => html`<div><dt>${label}</dt><dd>${
    Object.keys(values || {}).length ? Object.entries(values).map(([currency, amount]) => html`<span class="pill">${formatDecimal(amount)} ${currency}</span>`) : '—'
  }</dd></div>`;
  return html`<section class="validation" aria-labelledby="dry-run-title" data-testid="dry-run">
    <h3 id="dry-run-title">Dry run ${result.ok ? html`<span class="badge badge-ok">valid</span>` : html`<span class="badge badge-problem">problems</span>`}</h3>
    ${result.problems.length ? html`<ul class="problems">${result.problems.map((p) => html`<li>${p}</li>`)}</ul>` : null}
    <dl class="facts">
      <div><dt>Ranked</dt><dd>${result.results_count}</dd></div>
      <div><dt>Eligible</dt><dd>${result.eligible_count}</dd></div>
      ${totals('Pool total', result.pool_total)}
      ${totals('Paid', result.paid)}
      ${totals('Treasury', result.treasury)}
    </dl>
    ${result.awards.length
      ? html`<table><caption>Who would get what (from the current ranking)</caption>
          <thead><tr><th scope="col">Prize rank</th><th scope="col">User</th><th scope="col">Prize</th><th scope="col">Status</th></tr></thead>
          <tbody>${result.awards.map((a) => html`<tr><td>${a.prize_rank}</td><td>${a.user_id}</td><td class="num">${a.type === 'custom' ? a.description : `${formatDecimal(a.amount)} ${a.type === 'token' ? a.token : 'points'}`}</td><td>${a.status || ''}</td></tr>`)}</tbody>
        </table>`
      : html`<p class="muted">Nobody is placed for a prize yet.</p>`}
  </section>`;
}
