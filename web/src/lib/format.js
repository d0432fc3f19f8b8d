// Times and counts for people, in their locale.

export function formatTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatCount(value) {
  if (value === null || value === undefined) return '—';
  return new Intl.NumberFormat().format(value);
}

/** "2d 03:04:05" until a moment, or null once it has passed. */
export function countdown(iso, now = Date.now()) {
  const left = Math.floor((new Date(iso).getTime() - now) / 1000);
  if (!(left > 0)) return null;
  const days = Math.floor(left / 86400);
  const clock = [Math.floor((left % 86400) / 3600), Math.floor((left % 3600) / 60), left % 60]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
  return days ? `${days}d ${clock}` : clock;
}

/** A datetime-local input's value (local time) as UTC ISO-8601, and back. */
export function localInputToIso(value) {
  return value ? new Date(value).toISOString() : '';
}

export function isoToLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The x range of a time chart whose labels are Unix seconds (uPlot's unit): the data's own span, and a minute either
 * side of a single instant. uPlot's own range for one instant is min + 86400 / ms, which with seconds (ms = 0.001) is
 * 86,400,000 s: an axis running years ahead. */
export function xRange(labels) {
  const finite = labels.filter((v) => Number.isFinite(v));
  if (!finite.length) return [null, null];
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return max - min < 1 ? [min - 60, max + 60] : [min, max];
}

/** The bell's count: the API counts up to a cap and says when there are more. */
export function unreadText(unread) {
  if (!unread) return '';
  return unread.capped ? `${unread.cap ?? 99}+` : String(unread.count);
}
