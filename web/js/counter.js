// A service point's own device (the tablet at a government window). It signs in with the
// device secret an admin gave it and joins this counter's calls by itself once an interpreter
// has answered a resident who scanned the counter's QR code; it reconnects on its own, as it is
// left open all day.
import { t, setupLangToggle } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera } from './media.js';
import { InCall, flash, forwardCallMessages } from './incall.js';

const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };
const KEY = 'signrelay.counterDevice';

// The secret arrives once in the URL fragment (never sent to the server or in Referer); it is
// kept on this device and taken off the address bar so it is not left on the screen.
if (location.hash.length > 1) {
  localStorage.setItem(KEY, location.hash.slice(1));
  history.replaceState(null, '', location.pathname);
}
const secret = localStorage.getItem(KEY);

let sig = null;
let welcome = null;
let incall = null;
let stream = null;
let state = null;
let stopped = false;
let withdrawn = false;
let retry = 1;

function show(id) {
  for (const s of ['setup', 'begin', 'ready', 'incall']) $(s).hidden = s !== id;
}

function renderState() {
  const key = { ready: 'counter_ready', caller_waiting: 'counter_caller_waiting', replaced: 'counter_replaced' }[state];
  $('counter-state').textContent = key ? t(key) : '';
  $('counter-detail').textContent = state === 'caller_waiting' ? t('counter_caller_waiting_more')
    : state === 'ready' ? t('counter_ready_more') : '';
  $('ready').dataset.state = state || '';
}

setupLangToggle(() => { renderState(); if (welcome) $('counter-title').textContent = `${t('title_counter')} · ${welcome.name}`; });

// The camera is on only around calls: opened when a resident is waiting (or at the answer).
async function camera() {
  if (stream) return stream;
  try { stream = await getCamera(); } catch (e) { status(t('media_denied', { e: e.message })); stream = null; }
  return stream;
}
function releaseCamera() {
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
}

let pending = Promise.resolve();
function ensureInCall() {
  if (!incall) {
    show('incall');
    incall = new InCall($('incall'), {
      signal: sig, role: 'guest', localStream: stream, iceServers: welcome?.ice_servers, captions: !!welcome?.captions,
    });
  }
  return incall;
}

function endCall() {
  if (incall) incall.close();
  incall = null;
  releaseCamera();
  // Withdrawn during a call: the end of the call runs once the camera has settled, which
  // can be after the reason arrived, and the setup screen that says why must stay.
  if (withdrawn) return;
  show('ready');
  renderState();
  setTimeout(() => $('counter-state').focus(), 0);
}

function connect() {
  sig = connectSignal({
    onClose: () => {
      if (incall) { incall.close(); incall = null; }
      releaseCamera();
      if (stopped) return;
      status(t('counter_reconnecting'));
      // Back off up to a minute so a server restart is not met by a storm of tablets.
      setTimeout(connect, Math.min(60, retry) * 1000);
      retry *= 2;
    },
  });
  sig.on('welcome', (m) => {
    welcome = m; retry = 1; status('');
    $('counter-title').textContent = `${t('title_counter')} · ${m.name}`;
    show('ready');
  });
  sig.on('counter_state', (m) => {
    state = m.state;
    if (state === 'caller_waiting') camera();
    if (state === 'replaced') { stopped = true; sig.close(); }
    if (!incall) { show('ready'); renderState(); }
  });
  sig.on('call_connected', (m) => {
    // Offers wait for the camera so the first negotiation already carries it.
    pending = camera().then(() => { flash(t('pair', { a: t('counter_joined'), b: m.interpreter })); ensureInCall(); });
  });
  forwardCallMessages(sig, { ensure: ensureInCall, current: () => incall, ready: () => pending });
  sig.on('interpreter_lost', (m) => flash(t(m.handed_back ? 'interp_handed_back' : 'interp_lost')));
  sig.on('call_ended', () => { pending.then(endCall); });
  sig.on('error', (m) => {
    if (m.code === 'bad_candidate') return;
    if (m.code === 'no_such_counter') {
      // Revoked or replaced: stop trying, and say what to do.
      stopped = true;
      withdrawn = true;
      localStorage.removeItem(KEY);
      show('setup');
      status(t('counter_revoked'));
      sig.close();
      return;
    }
    if (m.code === 'shutting_down') status(t('restarting'));
    else status(t('error', { e: m.message }));
  });
  sig.on('pong', () => {});
  sig.send({ type: 'counter_sign_in', device: secret });
}

if (!secret) {
  show('setup');
} else {
  // One tap at the start of the day: browsers let a page play the call's sound only after one.
  show('begin');
  $('btn-begin').onclick = () => { status(t('counter_connecting')); connect(); };
}
