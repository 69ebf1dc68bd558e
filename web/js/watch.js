// The viewer page of a press briefing: speaker and sign interpreter side by side (the
// interpreter is pinned and never hidden), live captions over or under the speaker, the
// transcript so far, and whether the captions are live or behind.
import { t, setupLangToggle } from './i18n.js';
import { connectSignal } from './signal.js';
import { MediaSession } from './media.js';
import { CaptionView } from './captions.js';

const $ = (id) => document.getElementById(id);
const id = decodeURIComponent(location.pathname.split('/')[2] || '');
let info = null;
let roster = new Map(); // participant id -> role
const streams = new Map(); // participant id -> MediaStream
let media = null;
let nextSeq = 0;
let es = null;
// "live": machine text at once, corrections replace it; "checked": each line once the
// captioner checked it or the correction window passed. Remembered on this device.
let view = localStorage.getItem('signrelay.capView') === 'checked' ? 'checked' : 'live';

const captions = new CaptionView($('captions'), $('cap-bar'), { keep: 2, showNames: false, positions: true, emptyKey: 'cap_empty_event' });

function renderInfo() {
  if (!info) return;
  $('ev-title').textContent = info.title;
  document.title = `${info.title} · ${t('title_watch')}`;
  const notices = [];
  if (info.captions === 'degraded' || info.captions === 'delayed') notices.push(t('degraded'));
  if (info.captions === 'off') notices.push(t('captions_off'));
  $('notice').textContent = notices.join(' ');
  $('notice').hidden = notices.length === 0;
  $('captions').hidden = info.captions === 'off';
  $('no-interp').hidden = info.interpreter_present;
  let state = t(`state_${info.state}`);
  if (info.state === 'scheduled' && info.starts_at_unix_ms) {
    state += ` · ${t('starts_at', { t: new Date(info.starts_at_unix_ms).toLocaleString() })}`;
  }
  $('status').textContent = state;
  document.body.dataset.state = info.state;
  renderBadge();
  renderMode();
}

// Which captions these are: typed by a person, checked, being checked, or machine only.
function renderMode() {
  $('view-live').setAttribute('aria-pressed', String(view === 'live'));
  $('view-checked').setAttribute('aria-pressed', String(view === 'checked'));
  if (!info || info.captions === 'off') { $('cap-mode').textContent = ''; return; }
  let key = 'mode_unchecked';
  if (!info.captioner_present) key = 'mode_unchecked';
  else if (info.captioning === 'typed') key = 'mode_typed';
  else if (info.captioner_present && view === 'checked' && info.correction_window_ms > 0) key = 'mode_checked';
  else if (info.captioner_present) key = 'mode_live_checking';
  $('cap-mode').textContent = t(key, { s: Math.round((info.correction_window_ms || 0) / 1000) });
  document.body.dataset.capView = view;
}

// "Live" only while the captions keep up: the server says how far behind the recognizer is
// (also when no caption comes at all), and the last caption's own delay counts too.
function renderBadge() {
  const b = $('badge');
  if (!info || info.state !== 'live') {
    b.textContent = info ? t(`state_${info.state}`).split('：')[0].split(':')[0] : '';
    b.dataset.kind = info?.state || '';
    return;
  }
  if (info.captions === 'off') {
    b.textContent = t('live_no_captions');
    b.dataset.kind = 'live';
    return;
  }
  const since = info.receivedAt ? (Date.now() - info.receivedAt) / 1000 : 0;
  const server = info.captions === 'delayed' ? info.captions_behind_secs + since : 0;
  const lag = Math.max(server, captions.delaySecs() ?? 0);
  if (lag >= 4 || info.captions === 'delayed') {
    b.textContent = t('delay_badge', { s: Math.max(1, Math.round(lag)) });
    b.dataset.kind = 'delay';
  } else {
    b.textContent = t('live_badge');
    b.dataset.kind = 'live';
  }
}
setInterval(renderBadge, 1000);

function reviseTranscript(line) {
  const li = $('transcript').querySelector(`li[data-seq="${line.seq}"]`);
  if (!li) return;
  li.lastChild.textContent = line.text;
  li.classList.add('revised');
  li.hidden = !line.text;
}

function addTranscript(line) {
  const li = document.createElement('li');
  li.dataset.seq = String(line.seq);
  const at = document.createElement('time');
  const s = Math.floor(line.start_ms / 1000);
  at.textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} `;
  li.append(at, document.createTextNode(line.text));
  const list = $('transcript');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
  list.appendChild(li);
  // Someone scrolled back to read keeps their place.
  if (atBottom) list.scrollTop = list.scrollHeight;
  nextSeq = line.seq + 1;
}

function downloads() {
  const box = $('downloads');
  box.innerHTML = '';
  box.append(t('pair', { a: t('download'), b: '' }));
  for (const f of ['vtt', 'srt', 'txt', 'json']) {
    const a = document.createElement('a');
    a.href = `/events/${encodeURIComponent(id)}/transcript.${f}`;
    a.textContent = f.toUpperCase();
    a.setAttribute('download', '');
    box.append(a, ' ');
  }
}

function place() {
  for (const [pid, stream] of streams) {
    const role = roster.get(pid);
    const v = role === 'interpreter' ? $('v-interp') : role === 'broadcaster' ? $('v-speaker') : null;
    if (!v || v.srcObject === stream) continue;
    v.srcObject = stream;
    v.play().catch(() => {
      // Sound needs a tap on some browsers; captions and video go on meanwhile.
      v.muted = true;
      v.play().catch(() => {});
    });
  }
}

function followCaptions() {
  if (es) es.close();
  es = new EventSource(`/events/${encodeURIComponent(id)}/captions?since=${nextSeq}&view=${view}`);
  es.addEventListener('caption', (e) => {
    const line = JSON.parse(e.data);
    if (line.stable && line.seq < nextSeq) {
      // A correction of a line already shown replaces it in place.
      if (line.rev > 0) { captions.revise(line); reviseTranscript(line); }
      return;
    }
    captions.update(line);
    if (line.stable) addTranscript(line);
    renderBadge();
  });
  es.addEventListener('status', (e) => { info = { ...JSON.parse(e.data), receivedAt: Date.now() }; renderInfo(); });
}

function joinMedia() {
  const sig = connectSignal({ onClose: () => { $('status').textContent = t('reconnecting'); setTimeout(joinMedia, 2000); } });
  media = null;
  sig.on('welcome', (m) => {
    media = new MediaSession(sig, {
      iceServers: m.ice_servers,
      onTrack: (pid, stream) => { streams.set(pid, stream); place(); },
    });
    window.signrelay = window.signrelay || {};
    window.signrelay.media = media;
  });
  sig.on('room', (m) => { roster = new Map(m.participants.map((p) => [p.id, p.role])); place(); });
  sig.on('offer', (m) => media?.handleOffer(m.sdp));
  sig.on('event_status', (m) => { info = { ...m, receivedAt: Date.now() }; renderInfo(); });
  sig.on('error', (m) => {
    if (m.code === 'bad_candidate') return;
    if (m.code === 'media_failed') sig.close();
    else $('status').textContent = t('error', { e: m.message });
  });
  sig.on('call_ended', () => {});
  sig.on('pong', () => {});
  sig.send({ type: 'join_event', event: id });
}

$('interp-size').addEventListener('input', (e) => {
  $('screens').style.setProperty('--interp-w', `${e.target.value}%`);
  localStorage.setItem('signrelay.interpSize', e.target.value);
});
$('interp-size').value = localStorage.getItem('signrelay.interpSize') || '35';
$('screens').style.setProperty('--interp-w', `${$('interp-size').value}%`);
// On a phone the interpreter is the big picture; one tap makes the speaker big instead.
function applySwap(main) {
  $('screens').dataset.main = main;
  $('swap').setAttribute('aria-pressed', String(main === 'speaker'));
  localStorage.setItem('signrelay.watchMain', main);
}
applySwap(localStorage.getItem('signrelay.watchMain') || 'interp');
$('swap').onclick = () => applySwap($('screens').dataset.main === 'speaker' ? 'interp' : 'speaker');
function setView(v) {
  if (v === view) return;
  view = v;
  localStorage.setItem('signrelay.capView', v);
  renderMode();
  followCaptions();
}
$('view-live').onclick = () => setView('live');
$('view-checked').onclick = () => setView('checked');
setupLangToggle(() => { renderInfo(); downloads(); });
downloads();

async function start() {
  const res = await fetch(`/api/events/${encodeURIComponent(id)}`);
  if (!res.ok) { $('status').textContent = t('bad_link'); return; }
  info = await res.json();
  renderInfo();
  const tr = await fetch(`/events/${encodeURIComponent(id)}/transcript.json?view=${view}`);
  if (tr.ok) for (const line of await tr.json()) addTranscript(line);
  followCaptions();
  if (info.state !== 'ended') joinMedia();
}
start();
