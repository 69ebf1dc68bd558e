// A caller's private page for the message they left: where it stands and the interpreter's
// answer. The token comes in the URL fragment (never sent to the server in a request line
// or a Referer) and goes out only as a Bearer header.
import { t, setupLangToggle } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera } from './media.js';
import { InCall, flash, unflash, forwardCallMessages } from './incall.js';

const $ = (id) => document.getElementById(id);
const KEY = 'signrelay.videomail';
if (location.hash.length > 1) localStorage.setItem(KEY, location.hash.slice(1));
const token = location.hash.slice(1) || localStorage.getItem(KEY) || '';
const auth = { Authorization: `Bearer ${token}` };
let msg = null;

function render() {
  if (!msg) return;
  $('vm').hidden = false;
  $('vm-state').textContent = msg.deleted ? t('vm_mine_deleted') : t(`vm_mine_${msg.state}`);
  $('vm-when').textContent = t('vm_left_at', { t: new Date(msg.created_at_ms).toLocaleString() });
  $('vm-answer-box').hidden = !msg.answer_text && !msg.answer_video;
  $('vm-answer').textContent = msg.answer_text || '';
  $('btn-answer-video').hidden = !msg.answer_video;
  $('btn-replay').hidden = msg.deleted;
}

async function load() {
  if (!token) { $('status').textContent = t('vm_no_link'); return; }
  const r = await fetch('/api/my-videomail', { headers: auth });
  if (!r.ok) {
    const why = (await r.json().catch(() => ({}))).message || r.statusText;
    $('status').textContent = t('error', { e: why });
    return;
  }
  const before = msg;
  msg = await r.json();
  render();
  // An answer that arrives while the page is open is announced once.
  if (before && before.state !== 'answered' && msg.state === 'answered') $('status').textContent = t('vm_mine_answered');
}

// Plays a sealed file the server opens for this token.
async function playInto(path, video) {
  const r = await fetch(path, { headers: auth });
  if (!r.ok) { $('status').textContent = t('error', { e: r.statusText }); return; }
  video.src = URL.createObjectURL(await r.blob());
  video.hidden = false;
  video.play().catch(() => {});
}
$('btn-replay').onclick = () => playInto('/api/my-videomail/video', $('vm-video'));
$('btn-answer-video').onclick = () => playInto('/api/my-videomail/answer-video', $('vm-answer-video'));
// While this page is open an interpreter answering the message may call back: the offer rings
// here, and the caller takes it or says it is not a good time.
let sig = null;
let welcome = null;
let incall = null;
let stream = null;
let offer = null; // {from, until, timer}
function renderOffer() {
  if (!offer) return;
  const left = Math.max(0, Math.round((offer.until - Date.now()) / 1000));
  $('cb-h').textContent = t('cb_offer', { n: offer.from });
  $('cb-countdown').textContent = t('cb_countdown', { s: left });
}
function endOffer() {
  if (!offer) return;
  clearInterval(offer.timer);
  offer = null;
  $('cb-offer').hidden = true;
  unflash();
}
function ensureInCall() {
  if (!incall) {
    $('vm').hidden = true;
    $('incall').hidden = false;
    incall = new InCall($('incall'), {
      signal: sig, role: 'caller', localStream: stream, iceServers: welcome?.ice_servers, captions: !!welcome?.captions,
    });
  }
  return incall;
}
function endCall() {
  if (incall) incall.close();
  incall = null;
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
  $('incall').hidden = true;
  $('vm').hidden = !msg;
}
function watch() {
  if (!token) return;
  sig = connectSignal({ onClose: () => { endOffer(); endCall(); setTimeout(watch, 5000); } });
  sig.on('welcome', (m) => { welcome = m; sig.send({ type: 'watch_videomail', token }); });
  sig.on('call_back_offer', (m) => {
    offer = { from: m.from, until: Date.now() + m.ring_timeout_secs * 1000, timer: setInterval(renderOffer, 1000) };
    renderOffer();
    $('cb-offer').hidden = false;
    flash(t('cb_offer', { n: m.from }), { hold: true });
    setTimeout(() => $('cb-h').focus(), 0);
  });
  sig.on('call_back_ended', (m) => { endOffer(); $('status').textContent = t(`cb_ended_${m.outcome}`); });
  sig.on('call_connected', (m) => { endOffer(); flash(t('pair', { a: t('answered'), b: m.interpreter })); ensureInCall(); });
  forwardCallMessages(sig, { ensure: ensureInCall, current: () => incall });
  sig.on('call_ended', () => { endCall(); flash(t('ended')); load().catch(() => {}); });
  sig.on('error', (m) => {
    if (m.code === 'bad_candidate') return;
    endOffer();
    $('status').textContent = t('error', { e: m.message });
  });
  sig.on('pong', () => {});
  sig.on('videomail_watched', () => {});
  sig.send({ type: 'hello', role: 'caller', name: localStorage.getItem('signrelay.name') || undefined });
}
$('btn-cb-accept').onclick = async () => {
  if (!offer) return;
  try { stream = await getCamera(); } catch (e) { $('status').textContent = t('media_denied', { e: e.message }); stream = null; }
  sig.send({ type: 'answer_call_back', accept: true });
};
$('btn-cb-decline').onclick = () => { sig.send({ type: 'answer_call_back', accept: false }); endOffer(); };
setupLangToggle(() => { render(); renderOffer(); });
watch();
load().catch(() => {});
setInterval(() => load().catch(() => {}), 20000);
