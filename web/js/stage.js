// The stage of a press briefing, for the speaker and the sign interpreter: camera and
// microphone out, the other publisher in (the interpreter hears the speaker), and the
// speaker's own captions to check them. The link's fragment is `<event id>.<token>`.
import { t, setupLangToggle } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera, MediaSession } from './media.js';
import { CaptionView } from './captions.js';
import { flash } from './incall.js';

const $ = (id) => document.getElementById(id);
const [id, token] = location.hash.slice(1).split('.');
let info = null;
let stream = null;
let sig = null;
let media = null;
let role = null;
let roster = new Map();
const streams = new Map();
let wanted = false; // the person pressed "go live" and has not stopped

const captions = new CaptionView($('captions'), $('cap-bar'), { keep: 2, showNames: false });

function renderInfo() {
  if (!info) return;
  $('ev-title').textContent = info.title;
  $('badge').textContent = t(`state_${info.state}`).split('：')[0].split(':')[0];
  $('badge').dataset.kind = info.state;
  if (role) $('role').textContent = t(`stage_role_${role}`);
}

function place() {
  for (const [pid, s] of streams) {
    const r = roster.get(pid);
    if (!r || pid === media?.you) continue;
    const v = $('v-other');
    $('other-label').textContent = t(r === 'interpreter' ? 'sign_interpreter' : 'speaker');
    if (v.srcObject !== s) { v.srcObject = s; v.play().catch(() => {}); }
  }
}

function connect() {
  sig = connectSignal({
    onClose: () => {
      if (!wanted) return;
      $('status').textContent = t('reconnecting');
      setTimeout(connect, 2000);
    },
  });
  sig.on('welcome', (m) => {
    role = m.role;
    renderInfo();
    media = new MediaSession(sig, {
      localStream: stream, iceServers: m.ice_servers,
      onTrack: (pid, s) => { streams.set(pid, s); place(); },
    });
    window.signrelay = window.signrelay || {};
    window.signrelay.media = media;
  });
  sig.on('room', (m) => { media?.setYou(m.you); roster = new Map(m.participants.map((p) => [p.id, p.role])); place(); });
  sig.on('offer', (m) => media?.handleOffer(m.sdp));
  sig.on('event_status', (m) => { info = m; renderInfo(); if (m.state === 'ended') stop(); });
  sig.on('call_ended', (m) => {
    // Another device took over this link (or we stopped): this one stands down.
    if (m.reason === 'taken') flash(t('ended'));
    stop();
  });
  sig.on('error', (m) => {
    if (m.code === 'bad_candidate') return;
    if (m.code === 'media_failed') { sig.close(); return; }
    $('status').textContent = t('error', { e: m.message });
    if (m.code === 'token_invalid' || m.code === 'no_such_event') stop();
  });
  sig.on('pong', () => {});
  sig.send({ type: 'join_event', event: id, token });
}

async function goLive() {
  try {
    stream = await getCamera();
  } catch (e) {
    $('status').textContent = t('media_denied', { e: e.message });
    return;
  }
  $('v-self').srcObject = stream;
  wanted = true;
  $('btn-live').hidden = true;
  $('btn-stop').hidden = false;
  $('status').textContent = '';
  connect();
}

function stop() {
  wanted = false;
  if (sig) { sig.send({ type: 'hang_up' }); setTimeout(() => sig?.close(), 200); }
  media?.close();
  media = null;
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
  $('btn-live').hidden = false;
  $('btn-stop').hidden = true;
}

function followCaptions() {
  const es = new EventSource(`/events/${encodeURIComponent(id)}/captions`);
  es.addEventListener('caption', (e) => captions.update(JSON.parse(e.data)));
  es.addEventListener('status', (e) => { info = JSON.parse(e.data); renderInfo(); });
}

setupLangToggle(renderInfo);
$('btn-live').onclick = goLive;
$('btn-stop').onclick = stop;

async function start() {
  const res = id && token ? await fetch(`/api/events/${encodeURIComponent(id)}`) : null;
  if (!res || !res.ok) {
    $('status').textContent = t('bad_link');
    $('btn-live').hidden = true;
    return;
  }
  info = await res.json();
  renderInfo();
  followCaptions();
}
start();
