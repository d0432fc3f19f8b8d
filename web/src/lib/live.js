// The WebSocket API: one connection per page, the token in the query string (browsers cannot set headers on a
// WebSocket), subscriptions per topic, reconnecting with backoff; every push is {type, topic, seq, ts, data}.
import { getConfig } from './api.js';

export function connectLive(token, topics, onMessage, onState = () => {}) {
  let socket = null;
  let closed = false;
  let attempt = 0;
  let ping = null;

  function open() {
    const url = `${getConfig().ws_url}/?token=${encodeURIComponent(token)}`;
    onState('connecting');
    socket = new WebSocket(url);
    const acked = new Set();
    socket.onopen = () => {
      attempt = 0;
      onState('subscribing');
      for (const topic of topics) socket.send(JSON.stringify({ action: 'subscribe', topic }));
      ping = setInterval(() => socket.readyState === 1 && socket.send(JSON.stringify({ action: 'ping' })), 5 * 60 * 1000);
    };
    socket.onmessage = (message) => {
      let parsed;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        return; // a frame that is not JSON is nobody's message
      }
      if (parsed.type === 'subscribed') {
        acked.add(parsed.topic);
        if (topics.every((topic) => acked.has(topic))) onState('live'); // every push from here on reaches us
      }
      onMessage(parsed);
    };
    socket.onclose = () => {
      clearInterval(ping);
      if (closed) return;
      onState('reconnecting');
      attempt += 1;
      setTimeout(open, Math.min(30000, 500 * 2 ** attempt));
    };
  }

  if (getConfig().ws_url) open();
  else onState('unavailable');
  const close = () => {
    closed = true;
    clearInterval(ping);
    if (socket) socket.close();
  };
  /** Send one action (e.g. an announcement); false when the socket is not open. */
  close.send = (message) => {
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(message));
    return true;
  };
  return close;
}

/** A leaderboard kept live: the pushed diff sets each row at its rank and cuts the list at `size`. */
export function applyBoardDiff(rows, version, data) {
  if (version !== null && data.version <= version) return null; // an older snapshot than the one shown
  const next = rows.slice();
  for (const row of data.rows || []) next[row.rank - 1] = row;
  next.length = Math.min(next.length, data.size);
  return next.filter(Boolean);
}
