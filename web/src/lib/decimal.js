// Money, volumes and scores arrive as decimal strings ("1250.75", "-0.5"): they are never turned into floats.
// Formatting hands the string to Intl (which formats a numeric string exactly); arithmetic is on BigInt.

const PLAIN = /^-?\d+(\.\d+)?$/;

/** A decimal string as [BigInt units, scale]; throws on anything that is not plain notation. */
function parse(value) {
  const text = String(value).trim();
  if (!PLAIN.test(text)) throw new Error(`not a decimal string: ${text}`);
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const units = BigInt(whole + fraction) * (negative ? -1n : 1n);
  return [units, fraction.length];
}

function align(a, b) {
  const [ua, sa] = parse(a);
  const [ub, sb] = parse(b);
  const scale = Math.max(sa, sb);
  return [ua * 10n ** BigInt(scale - sa), ub * 10n ** BigInt(scale - sb), scale];
}

function render(units, scale) {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  let text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  if (scale) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return (negative && text !== '0' ? '-' : '') + text;
}

export function isDecimal(value) {
  return typeof value === 'string' && PLAIN.test(value.trim());
}

/** a - b, exactly, as a canonical decimal string. */
export function subtract(a, b) {
  const [ua, ub, scale] = align(a, b);
  return render(ua - ub, scale);
}

/** a + b, exactly. */
export function add(a, b) {
  const [ua, ub, scale] = align(a, b);
  return render(ua + ub, scale);
}

/** -1, 0 or 1 as a <, =, > b. */
export function compare(a, b) {
  const [ua, ub] = align(a, b);
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** A decimal string for people, in their locale ("1,250.75"); up to 8 fraction digits, never rounded through a float. */
export function formatDecimal(value, { maximumFractionDigits = 8, minimumFractionDigits = 0 } = {}) {
  if (value === null || value === undefined || value === '') return '—';
  if (!isDecimal(String(value))) return String(value);
  const format = new Intl.NumberFormat(undefined, { maximumFractionDigits, minimumFractionDigits });
  return format.format(String(value)); // a string is formatted as the exact decimal it spells (Intl.NumberFormat v3)
}

/** An amount with its currency: points, a token, or a custom prize's description. */
export function formatPrize(prize) {
  if (prize.type === 'custom') return prize.description || 'Custom prize';
  const unit = prize.type === 'token' ? prize.token || 'tokens' : 'points';
  return `${formatDecimal(prize.amount)} ${unit}`;
}

/** A rate ("0.153") as a percentage ("15.3%"), by moving the decimal point in the string. */
export function formatRate(value) {
  if (value === null || value === undefined) return '—';
  const [units, scale] = parse(value);
  const percent = scale >= 2 ? render(units, scale - 2) : render(units * 10n ** BigInt(2 - scale), 0);
  return `${formatDecimal(percent, { maximumFractionDigits: 2 })}%`;
}
