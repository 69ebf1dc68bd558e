// TURN for locked-down networks: a caller whose browser may use only relayed candidates
// (iceTransportPolicy 'relay', as behind a firewall that lets nothing but TCP out) reaches the
// server through coturn, started here with a shared secret (use-auth-secret). The page gets a
// credential of its own from the welcome; coturn accepts it; getStats shows a relay pair.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp, freePort } from './lib.mjs';

// Every RTCPeerConnection the page makes may use relayed candidates only.
function relayOnly() {
  const Orig = window.RTCPeerConnection;
  function Relayed(cfg = {}, ...rest) { return new Orig({ ...cfg, iceTransportPolicy: 'relay' }, ...rest); }
  Relayed.prototype = Orig.prototype;
  Object.setPrototypeOf(Relayed, Orig);
  window.RTCPeerConnection = Relayed;
}

async function startCoturn(secret) {
  const port = await freePort();
  const relayMin = 49000 + (process.pid % 20) * 50;
  const logs = [];
  const proc = spawn('turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--simple-log', '--log-file=stdout',
    '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--relay-ip=127.0.0.1',
    `--min-port=${relayMin}`, `--max-port=${relayMin + 49}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=signrelay.test',
    // The test's server listens on loopback; a real deployment relays to a public address.
    '--allow-loopback-peers', '--fingerprint',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => logs.push(d.toString()));
  proc.stderr.on('data', (d) => logs.push(d.toString()));
  const deadline = Date.now() + 10000;
  while (!logs.join('').includes('Total General servers')) {
    if (proc.exitCode !== null) throw new Error(`turnserver exited: ${logs.join('')}`);
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, proc, logs, stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) };
}

describe('TURN for locked-down networks', { timeout: 180000 }, () => {
  let turn; let srv; let anna; let caller;
  const secret = randomBytes(16).toString('hex');

  before(async () => {
    turn = await startCoturn(secret);
    srv = await startServer(`[captions]\nenabled = false\n[media.turn]\nurls = ["turn:127.0.0.1:${turn.port}?transport=tcp"]\nsecret = "${secret}"\nttl_secs = 600\n`);
    [anna, caller] = await Promise.all([launchBrowser(), launchBrowser()]);
    await caller.context.addInitScript(relayOnly);
  });

  after(async () => {
    for (const b of [anna, caller]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
    if (turn) await turn.stop();
  });

  it('a relay-only caller connects through coturn with its own expiring credential', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    const welcomes = [];
    caller.page.on('websocket', (ws) => ws.on('framereceived', (f) => {
      try { const m = JSON.parse(f.payload); if (m.type === 'welcome') welcomes.push(m); } catch { /* binary */ }
    }));
    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await waitForMediaFrom(caller.page, 1, 40000);
    await waitForMediaFrom(anna.page, 1, 40000);

    // The welcome carried a TURN server with a per-session, time-limited user name.
    const w = welcomes.find((m) => m.ice_servers?.some((s) => s.username));
    assert.ok(w, 'welcome with TURN credentials');
    const t = w.ice_servers.find((s) => s.username);
    assert.deepEqual(t.urls, [`turn:127.0.0.1:${turn.port}?transport=tcp`]);
    const [expiry] = t.username.split(':');
    const left = Number(expiry) - Date.now() / 1000;
    assert.ok(left > 500 && left <= 601, `credential expires in ${left} s`);
    assert.ok(w.ice_refresh_secs > 0 && w.ice_refresh_secs < 600, 'refreshed before it expires');
    assert.ok(!t.credential.includes(secret), 'the secret itself never reaches a page');

    // The media path the caller uses goes through the relay.
    const pair = await caller.page.evaluate(async () => {
      const stats = await window.signrelay.media.pc.getStats();
      let selected = null;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) selected = stats.get(s.selectedCandidatePairId); });
      if (!selected) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') selected = s; });
      const local = selected && stats.get(selected.localCandidateId);
      return { state: selected?.state, type: local?.candidateType, protocol: local?.relayProtocol };
    });
    assert.equal(pair.state, 'succeeded');
    assert.equal(pair.type, 'relay', JSON.stringify(pair));
    assert.equal(pair.protocol, 'tcp', 'reached the relay over TCP, as a TCP-only network allows');
    await hangUp(caller.page);
  });
});
