// `make web` runs these with node's own test runner: the money maths and formatting never go through a float.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { add, compare, formatDecimal, formatRate, subtract } from '../src/lib/decimal.js';
import { applyBoardDiff } from '../src/lib/live.js';
import { countdown, unreadText, xRange } from '../src/lib/format.js';

test('subtract and add are exact where floats are not', () => {
  assert.equal(subtract('0.3', '0.1'), '0.2'); // 0.3 - 0.1 is 0.19999999999999998 in floats
  assert.equal(subtract('900', '420'), '480');
  assert.equal(subtract('1', '1.000000000000000001'), '-0.000000000000000001');
  assert.equal(add('99999999999999999999.99', '0.01'), '100000000000000000000');
  assert.equal(subtract('-0.5', '-0.5'), '0');
});

test('compare orders decimal strings of any scale', () => {
  assert.equal(compare('10', '9.99999999'), 1);
  assert.equal(compare('1.50', '1.5'), 0);
  assert.equal(compare('-2', '1'), -1);
  assert.throws(() => compare('1e3', '1'), /not a decimal string/);
});

test('formatDecimal formats the exact string in the locale', () => {
  assert.equal(formatDecimal('1250.75'), new Intl.NumberFormat(undefined, { maximumFractionDigits: 8 }).format('1250.75'));
  assert.equal(new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 }).format('12345678901234567.123'), '12,345,678,901,234,567.123');
  assert.equal(formatDecimal(null), '—');
});

test('formatRate moves the decimal point in the string', () => {
  assert.match(formatRate('0.153'), /^15[.,]3%$/);
  assert.match(formatRate('1'), /^100%$/);
  assert.equal(formatRate(null), '—');
});

test('a pushed leaderboard diff sets rows at their rank and cuts the list at size', () => {
  const rows = [{ rank: 1, handle: 'a' }, { rank: 2, handle: 'b' }, { rank: 3, handle: 'c' }];
  const next = applyBoardDiff(rows, 4, { version: 5, size: 2, rows: [{ rank: 1, handle: 'b' }, { rank: 2, handle: 'a' }] });
  assert.deepEqual(next.map((r) => r.handle), ['b', 'a']);
  assert.equal(applyBoardDiff(rows, 5, { version: 5, size: 3, rows: [] }), null); // not newer: ignored
});

test('countdown shows days and a clock, and null once passed', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(countdown('2026-01-02T01:02:03Z', now), '1d 01:02:03');
  assert.equal(countdown('2025-12-31T00:00:00Z', now), null);
});

test('a chart of one instant keeps its time axis within minutes, not years', () => {
  const now = Date.UTC(2026, 10, 30, 17, 30) / 1000; // uPlot's unit: seconds
  assert.deepEqual(xRange([now]), [now - 60, now + 60]);
  assert.deepEqual(xRange([now + 30, now]), [now, now + 30]);
  assert.deepEqual(xRange([]), [null, null]);
});

test('the bell shows the capped count as 99+', () => {
  assert.equal(unreadText({ count: 3, capped: false }), '3');
  assert.equal(unreadText({ count: 99, capped: true, cap: 99 }), '99+');
  assert.equal(unreadText(null), '');
});
