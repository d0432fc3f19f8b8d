// Small shared pieces of the screens. Every text from the API is rendered as a text node by Preact (htm builds
// vnodes, never HTML strings), so names, reasons and descriptions are escaped; nothing sets innerHTML.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import { xRange } from './format.js';

export const html = htm.bind(h);

let nextId = 0;
export function useId(prefix = 'f') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

export function navigate(path) {
  window.history.pushState({}, '', path);
  window.dispatchEvent(new Event('arena:navigate'));
}

export function Link({ href, children, ...rest }) {
  const onClick = (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

export function Field({ label, hint, children, id }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children}
    ${hint ? html`<small id=${`${id}-hint`}>${hint}</small>` : null}
  </div>`;
}

export function TextInput({ label, value, onInput, type = 'text', hint, required, name, ...rest }) {
  const id = useId(name || 'input');
  return html`<${Field} label=${label} hint=${hint} id=${id}>
    <input id=${id} name=${name} type=${type} value=${value ?? ''} required=${required}
      aria-describedby=${hint ? `${id}-hint` : undefined}
      onInput=${(e) => onInput(type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value)} ...${rest} />
  <//>`;
}

export function Select({ label, value, onChange, options, name, ...rest }) {
  const id = useId(name || 'select');
  return html`<${Field} label=${label} id=${id}>
    <select id=${id} name=${name} value=${value} onChange=${(e) => onChange(e.currentTarget.value)} ...${rest}>
      ${options.map((option) => {
        const [optionValue, text] = Array.isArray(option) ? option : [option, option];
        return html`<option value=${optionValue} selected=${optionValue === value}>${text}</option>`;
      })}
    </select>
  <//>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const problems = error.problems || [error.message || String(error)];
  return html`<div class="error" role="alert">
    ${error.status ? html`<strong>${error.status} ${error.code || ''}</strong> ` : null}
    ${problems.length === 1 ? problems[0] : html`<ul>${problems.map((p) => html`<li>${p}</li>`)}</ul>`}
  </div>`;
}

export function Notice({ children }) {
  return children ? html`<div class="notice" role="status">${children}</div>` : null;
}

export function Status({ value }) {
  return html`<span class=${`badge badge-${String(value || '').toLowerCase()}`}>${value}</span>`;
}

/** Data that loads from the API: [value, error, reload]. */
export function useLoad(loader, deps) {
  const [state, setState] = useState({ value: undefined, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    loader().then(
      (value) => alive && setState({ value, error: null }),
      (error) => alive && setState({ value: null, error }),
    );
    return () => {
      alive = false;
    };
  }, [...deps, tick]);
  return [state.value, state.error, () => setTick((n) => n + 1)];
}

/** A button that asks for a reason first (every state change of an event, a participant or a prize is audited). */
export function ReasonAction({ label, onConfirm, danger, extra, disabled, name }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const id = useId('reason');
  if (!open) {
    return html`<button type="button" class=${danger ? 'danger' : ''} disabled=${disabled}
      data-action=${name || label} onClick=${() => setOpen(true)}>${label}</button>`;
  }
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm(reason.trim());
      setOpen(false);
      setReason('');
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="reason-form" onSubmit=${submit} data-form=${name || label}>
    ${extra}
    <div class="field">
      <label for=${id}>Reason for “${label}”</label>
      <input id=${id} name="reason" required minLength="1" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
    </div>
    <div class="row">
      <button type="submit" class=${danger ? 'danger' : 'primary'} disabled=${busy || !reason.trim()}>Confirm ${label.toLowerCase()}</button>
      <button type="button" onClick=${() => setOpen(false)}>Back</button>
    </div>
    <${ErrorBox} error=${error} />
  </form>`;
}

/** A small line or bar chart (uPlot). The plotted values are numbers for drawing only; the figures shown in text
 * beside a chart stay decimal strings. Time labels are Unix seconds (uPlot's unit, not milliseconds). */
export function Chart({ title, labels, series, height = 220, bars = false, times = true }) {
  const box = useRef(null);
  const minimum = times ? 1 : 2;
  useEffect(() => {
    if (!box.current || labels.length < minimum) return undefined;
    const width = Math.max(280, box.current.clientWidth || 600);
    const palette = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c'];
    const options = {
      title,
      width,
      height,
      // One instant: uPlot's own range would run years ahead (see xRange); a minute either side keeps the clock.
      scales: { x: { time: times, range: times ? () => xRange(labels) : undefined } },
      axes: [
        times ? {} : { values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') },
        { size: 80 },
        ...(series.some((s) => s.scale) ? [{ scale: series.find((s) => s.scale).scale, side: 1, size: 60, grid: { show: false } }] : []),
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          scale: s.scale || 'y',
          stroke: palette[i % palette.length],
          width: 2,
          fill: bars ? `${palette[i % palette.length]}55` : undefined,
          paths: bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined,
        })),
      ],
    };
    const xs = times ? labels : labels.map((_, i) => i);
    const plot = new uPlot(options, [xs, ...series.map((s) => s.values)], box.current);
    box.current.dataset.xSpan = String(plot.scales.x.max - plot.scales.x.min); // uPlot draws its axes on a canvas
    return () => plot.destroy();
  }, [JSON.stringify(labels), JSON.stringify(series.map((s) => s.values))]);
  if (labels.length < minimum) return html`<p class="muted">${title}: waiting for data.</p>`;
  return html`<figure class="chart"><div ref=${box} role="img" aria-label=${title}></div></figure>`;
}
