// The signaling WebSocket: JSON messages tagged by `type` (see src/signal.rs).
export function connectSignal({ onClose } = {}) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  const handlers = new Map();
  const queue = [];
  let reqNo = 0;
  // TURN credentials expire: the socket keeps the ICE servers fresh for as long as it lives,
  // so a console open all day still has valid ones for its next call.
  let ice = null;
  let iceTimer = null;
  const iceListeners = [];
  const sig = {
    on(type, fn) { handlers.set(type, fn); return sig; },
    send(msg) {
      const m = { ...msg, req: ++reqNo };
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
      else queue.push(m);
      return m.req;
    },
    close() { ws.close(); },
    // The latest ICE servers (null before the welcome).
    iceServers() { return ice; },
    onIceServers(fn) {
      iceListeners.push(fn);
      return () => { const i = iceListeners.indexOf(fn); if (i >= 0) iceListeners.splice(i, 1); };
    },
  };
  const takeIce = (msg) => {
    ice = msg.ice_servers || [];
    for (const fn of iceListeners) fn(ice);
    clearTimeout(iceTimer);
    if (msg.ice_refresh_secs) {
      iceTimer = setTimeout(() => sig.send({ type: 'refresh_ice' }), Math.max(30, msg.ice_refresh_secs) * 1000);
    }
  };
  ws.addEventListener('open', () => { while (queue.length) ws.send(JSON.stringify(queue.shift())); });
  ws.addEventListener('message', (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.type === 'welcome' || msg.type === 'ice_servers') takeIce(msg);
    if (msg.type === 'ice_servers') return;
    const h = handlers.get(msg.type) || handlers.get('*');
    if (h) h(msg);
  });
  ws.addEventListener('close', () => { if (onClose) onClose(); });
  const ping = setInterval(() => { if (ws.readyState === WebSocket.OPEN) sig.send({ type: 'ping' }); }, 20000);
  ws.addEventListener('close', () => { clearInterval(ping); clearTimeout(iceTimer); });
  return sig;
}
