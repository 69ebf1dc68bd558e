// The signaling WebSocket: JSON messages tagged by `type` (see src/signal.rs).
export function connectSignal({ onClose } = {}) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  const handlers = new Map();
  const queue = [];
  let reqNo = 0;
  const sig = {
    on(type, fn) { handlers.set(type, fn); return sig; },
    send(msg) {
      const m = { ...msg, req: ++reqNo };
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
      else queue.push(m);
      return m.req;
    },
    close() { ws.close(); },
  };
  ws.addEventListener('open', () => { while (queue.length) ws.send(JSON.stringify(queue.shift())); });
  ws.addEventListener('message', (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const h = handlers.get(msg.type) || handlers.get('*');
    if (h) h(msg);
  });
  ws.addEventListener('close', () => { if (onClose) onClose(); });
  const ping = setInterval(() => { if (ws.readyState === WebSocket.OPEN) sig.send({ type: 'ping' }); }, 20000);
  ws.addEventListener('close', () => clearInterval(ping));
  return sig;
}
