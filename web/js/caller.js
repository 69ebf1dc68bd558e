import { t, setupLangToggle, duration, currentLang } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera, mark, MediaSession } from './media.js';
import { InCall, flash } from './incall.js';
import { api } from './api.js';
import { download } from './captions.js';

const $ = (id) => document.getElementById(id);
const sections = ['start', 'waiting', 'incall', 'ended', 'recording', 'vm-saved'];
// Errors and hints only; the state of a call is told by its own screen, once.
const status = (text) => { $('status').textContent = text; };

let welcome = null;
let incall = null;
let stream = null;
// The call as this page knows it: what it is for and where it stands.
const call = { purpose: null, phase: null, queue: null, requeued: false, connectedAt: null, toText: false };
let summary = null; // {secs, text} of the call that just ended

// Every state change moves focus to the new screen's main element, so a screen-reader or
// keyboard user is not left on the page body.
function show(id, focus) {
  sections.forEach((s) => { $(s).hidden = s !== id; });
  const el = focus && $(focus);
  if (el) setTimeout(() => el.focus(), 0);
}

const sig = connectSignal({ onClose: () => status(t('disconnected')) });

// Opened from a counter's QR code (/c/<code>): the call is tagged with that service point,
// whose staff join by themselves when the interpreter answers.
const counterCode = location.pathname.startsWith('/c/') ? decodeURIComponent(location.pathname.slice(3)) : '';
let counter = null;
let counterGone = false;
async function loadCounter() {
  if (!counterCode) return;
  try {
    const r = await fetch(`/api/counters/${encodeURIComponent(counterCode)}`);
    if (r.ok) counter = await r.json();
    else counterGone = true;
  } catch { counterGone = true; }
  renderCounter();
  fillLanguages();
}
function renderCounter() {
  $('counter-box').hidden = !counter && !counterGone;
  if (counter) {
    const where = [counter.name, counter.department, counter.address].filter(Boolean).join(' · ');
    $('counter-where').textContent = t('counter_here', { name: where });
    $('counter-more').textContent = t('counter_staff_join');
  } else if (counterGone) {
    $('counter-where').textContent = t('counter_gone');
    $('counter-more').textContent = '';
  }
  renderPurposes();
}
// What the call is for matters only to an ordinary call, and a counter says it already.
function renderPurposes() {
  document.querySelector('#start .purposes').hidden = (hours && !hours.open) || !!counter;
}

function fillLanguages() {
  if (!welcome) return;
  const sel = $('sign-language');
  const cur = sel.value;
  sel.innerHTML = '';
  for (const l of welcome.sign_languages) {
    const o = document.createElement('option');
    o.value = l.code;
    o.textContent = currentLang() === 'en' ? l.name_en : l.name_zh;
    sel.appendChild(o);
  }
  if (cur) sel.value = cur;
  else if (counter) sel.value = counter.sign_language;
}

function fillContacts(list) {
  list.innerHTML = '';
  const contacts = welcome?.emergency_contacts || [];
  if (!contacts.length) {
    const li = document.createElement('li');
    li.textContent = t('emergency_none');
    list.appendChild(li);
  }
  for (const c of contacts) {
    const li = document.createElement('li');
    const label = currentLang() === 'en' ? c.label_en : c.label_zh;
    if (c.href) {
      const a = document.createElement('a');
      a.href = c.href;
      a.textContent = `${t('pair', { a: label, b: c.contact })}`;
      li.appendChild(a);
    } else {
      li.textContent = t('pair', { a: label, b: c.contact });
    }
    list.appendChild(li);
  }
}

function fillEmergency() {
  fillContacts($('emergency-contacts'));
  fillContacts($('closed-contacts'));
}

// Service hours: shown before the tap; out of hours only an emergency call rings. The page
// asks again when the service opens or closes, so one left open on a counter stays right.
let hours = null;
let hoursTimer = null;
function centreTime(ms) {
  // As the centre's clocks show it, wherever the phone is.
  const d = new Date(ms + hours.utc_offset_minutes * 60000);
  return new Intl.DateTimeFormat(currentLang() === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: 'UTC', month: 'long', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(d);
}
function renderHours() {
  const line = $('hours');
  clearTimeout(hoursTimer);
  if (!hours) {
    line.hidden = true;
    $('closed-box').hidden = true;
    $('btn-call').disabled = false;
    renderPurposes();
    return;
  }
  line.hidden = false;
  line.dataset.kind = hours.open ? 'open' : 'closed';
  if (hours.open) line.textContent = t('hours_open', { t: centreTime(hours.closes_at_ms) });
  else line.textContent = hours.opens_at_ms ? t('hours_closed_until', { t: centreTime(hours.opens_at_ms) }) : t('hours_closed');
  $('closed-box').hidden = hours.open;
  if (!hours.open) offerVideomail('vm_why_closed');
  else $('vm-offer').hidden = true;
  $('btn-call').disabled = !hours.open;
  renderPurposes();
  const next = hours.open ? hours.closes_at_ms : hours.opens_at_ms;
  if (next) hoursTimer = setTimeout(refreshHours, Math.min(Math.max(next - Date.now(), 0) + 1000, 6 * 3600 * 1000));
}
async function refreshHours() {
  try {
    const r = await fetch('/api/hours');
    if (r.ok) { hours = await r.json(); renderHours(); }
  } catch { /* the next welcome or timer tries again */ }
}

let vmOfferTimer = null;
// One line says where the call stands; the line under it says what happens next.
function renderWait() {
  const q = call.queue;
  let state = t('waiting');
  let detail = '';
  let offerText = false;
  if (call.phase === 'connecting') {
    state = t('state_connecting');
  } else if (q) {
    const ahead = q.position - 1;
    const where = ahead === 0 ? t('position_next') : t('position', { n: ahead });
    // Nobody to answer: that is the state; the place in line is the detail.
    if (q.interpreters_online === 0) {
      state = t('state_no_interpreter');
      detail = `${where} · ${t('state_no_interpreter_more')}`;
      offerText = true;
    } else if (q.interpreters_on_duty === 0) {
      state = t('state_all_away');
      detail = `${where} · ${t('state_all_away_more')}`;
      offerText = true;
    } else {
      state = call.requeued ? `${t('state_requeued')} · ${where}` : where;
      detail = [q.estimated_wait_secs == null ? '' : t('est_wait', { t: duration(q.estimated_wait_secs) }),
        t('state_queued_more')].filter(Boolean).join(' · ');
    }
  }
  $('wait-state').textContent = state;
  $('wait-detail').textContent = detail;
  $('btn-use-text').hidden = !offerText;
  // A message instead of waiting: when nobody can answer now, or after the configured wait.
  const after = welcome?.videomail_offer_after_secs;
  const waited = call.placedAt ? (Date.now() - call.placedAt) / 1000 : 0;
  $('btn-vm-wait').hidden = after == null || call.purpose === 'emergency'
    || !(offerText || waited >= after);
  clearTimeout(vmOfferTimer);
  if (after != null && $('btn-vm-wait').hidden && call.phase === 'queued') {
    vmOfferTimer = setTimeout(renderWait, Math.max(0, after - waited) * 1000 + 200);
  }
  $('emergency-box').hidden = call.purpose !== 'emergency';
}

function renderSummary() {
  if (!summary) return;
  $('ended-time').textContent = summary.secs == null ? '' : t('call_summary_time', { t: duration(summary.secs) });
  $('btn-save').hidden = !summary.text;
  $('ended-note').textContent = summary.text ? t('saved_note') : t('call_summary_none');
}

setupLangToggle(() => { fillLanguages(); fillEmergency(); renderHours(); renderCounter(); renderWait(); renderSummary(); });

function ensureInCall() {
  if (!incall) {
    show('incall');
    incall = new InCall($('incall'), {
      signal: sig, role: 'caller', localStream: stream, iceServers: welcome?.ice_servers, captions: !!welcome?.captions,
    });
    setTimeout(() => $('rtt-input')?.focus(), 0);
  }
  return incall;
}

function endCall() {
  summary = {
    secs: call.connectedAt ? Math.round((Date.now() - call.connectedAt) / 1000) : null,
    text: incall ? incall.transcript() : '',
  };
  if (incall) incall.close();
  incall = null;
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
}

async function openCamera() {
  try {
    stream = await getCamera();
  } catch (e) {
    // Text-only is still a call: the interpreter can type back.
    status(t('media_denied', { e: e.message }));
    stream = null;
  }
}

async function placeCall(purpose) {
  mark('call_clicked');
  status('');
  Object.assign(call, { purpose, phase: 'placing', queue: null, requeued: false, connectedAt: null, toText: false, placedAt: Date.now() });
  // The emergency screen and its alternatives show at once, before the camera or the queue.
  renderWait();
  show('waiting', 'wait-state');
  await openCamera();
  sig.send({
    type: 'place_call', purpose, sign_language: $('sign-language').value || undefined,
    preferred_interpreter_gender: $('pref-gender').value || undefined,
    counter: counter?.code,
  });
}

async function startCaptioned() {
  status('');
  Object.assign(call, { purpose: null, phase: 'captioned', queue: null, requeued: false, connectedAt: null, toText: false });
  if (!stream) await openCamera();
  sig.send({ type: 'start_captioned_call' });
}

sig.on('welcome', (m) => { welcome = m; hours = m.service_hours || null; fillLanguages(); fillEmergency(); renderHours(); });

// Videomail: the server records the camera and microphone from the media connection (the
// browser's own recorder fails on iOS Safari); the page shows the countdown and the link.
let vm = null; // {media, token, deadline, timer}
function offerVideomail(whyKey) {
  if (welcome?.videomail_offer_after_secs == null) return;
  $('vm-offer').hidden = false;
  $('vm-offer-why').textContent = t(whyKey);
}
function vmLink() { return `${location.origin}/videomail#${vm?.token || localStorage.getItem('signrelay.videomail') || ''}`; }
async function startVideomail() {
  status('');
  if (!stream) await openCamera();
  if (!stream) return;
  vm = { media: null, token: null, deadline: null, timer: null, spoken: null };
  $('vm-preview').srcObject = stream;
  $('vm-countdown').textContent = t('vm_starting');
  show('recording', 'vm-rec-h');
  sig.send({ type: 'start_videomail', sign_language: $('sign-language').value || (counter && counter.sign_language) || undefined });
}
function vmTick() {
  if (!vm?.deadline) return;
  const left = Math.max(0, Math.round((vm.deadline - Date.now()) / 1000));
  $('vm-countdown').textContent = t('vm_left', { t: duration(left) });
  // Announced at a few points only, not every second.
  const point = [60, 30, 10].find((s) => left <= s && vm.spoken !== s && left > s - 2);
  if (point) { vm.spoken = point; $('vm-countdown-sr').textContent = t('vm_left', { t: duration(left) }); }
}
function endVideomail() {
  if (!vm) return;
  clearInterval(vm.timer);
  vm.media?.close();
  vm = null;
  $('vm-preview').srcObject = null;
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
}
sig.on('videomail_recording', (m) => {
  if (!vm) return;
  vm.token = m.token;
  localStorage.setItem('signrelay.videomail', m.token);
  vm.media = new MediaSession(sig, { localStream: stream, iceServers: welcome?.ice_servers });
  vm.deadline = Date.now() + m.max_secs * 1000;
  vm.timer = setInterval(vmTick, 1000);
  vmTick();
});
sig.on('videomail_saved', (m) => {
  const link = vmLink();
  endVideomail();
  $('vm-saved-detail').textContent = t(m.limit_reached ? 'vm_saved_limit' : 'vm_saved_secs', { t: duration(m.secs) });
  $('vm-link').value = link;
  $('vm-link-open').href = link;
  show('vm-saved', 'vm-saved-h');
});
sig.on('queued', (m) => {
  call.queue = m;
  call.phase = 'queued';
  if (!incall) show('waiting');
  renderWait();
});
sig.on('connecting', () => { call.phase = 'connecting'; renderWait(); });
sig.on('call_connected', (m) => {
  // Already in the call: a colleague has taken over (transfer, or a team's switch).
  const changed = call.phase === 'connected' && !!incall && !!m.interpreter;
  call.requeued = false;
  call.phase = 'connected';
  call.connectedAt = call.connectedAt || Date.now();
  status('');
  if (!m.interpreter) {
    // A captioned call: the hearing party still has to be invited.
    status(t('captioned_started'));
    ensureInCall();
    sig.send({ type: 'create_invite' });
    return;
  }
  flash(t('pair', { a: t(changed ? 'interp_changed' : 'answered'), b: m.interpreter }));
  ensureInCall();
});
sig.on('caption', (m) => incall?.onCaption(m));
sig.on('caption_status', (m) => incall?.onCaptionStatus(m));
sig.on('call_captioner', (m) => incall?.onCallCaptioner(m));
sig.on('captioner_suggested', () => incall?.onCaptionerSuggested());
sig.on('room', (m) => ensureInCall().onRoom(m));
sig.on('offer', (m) => { if (vm?.media) vm.media.handleOffer(m.sdp); else ensureInCall().onOffer(m); });
sig.on('chat', (m) => incall?.onChat(m));
sig.on('invite_created', (m) => incall?.onInvite(m));
sig.on('interpreter_lost', (m) => {
  call.requeued = true;
  const what = m.handed_back ? t('interp_handed_back') : t('interp_lost');
  flash(what); status(what);
});
sig.on('call_ended', (m) => {
  if (vm) {
    // The queued call was given up for a message: the camera stays on for the recording.
    call.requeued = false; call.phase = null;
    return;
  }
  call.requeued = false;
  call.phase = null;
  endCall();
  if (call.toText) {
    // "Use text instead": the queued call was cancelled to start a captioned one.
    call.toText = false;
    startCaptioned();
    return;
  }
  status('');
  if (m.reason === 'cancelled' && !summary.text) {
    // The caller gave up waiting: back to the start, nothing to sum up.
    summary = null;
    show('start', 'btn-call');
    return;
  }
  renderSummary();
  show('ended', 'ended-h');
  flash(t('ended'));
});
sig.on('error', (m) => {
  // A browser offers candidates the server will not check (link-local, mDNS names): the call
  // goes on over the others, and there is nothing for the person to do.
  if (m.code === 'bad_candidate') return;
  if (m.code === 'shutting_down') status(t('restarting'));
  else if (m.code === 'videomail_unavailable') {
    endVideomail();
    status(t('error', { e: m.message }));
    show('start', 'status');
  }
  else if (m.code === 'queue_full') {
    status(t('error', { e: m.message }));
    show('start', 'status');
    offerVideomail('vm_why_full');
  }
  else if (m.code === 'no_such_counter') {
    // The counter's code was withdrawn after the page opened: say so; a plain call still works.
    counter = null; counterGone = true;
    endCall();
    renderCounter();
    show('start', 'counter-where');
    status(m.message);
  }
  else if (m.code === 'service_closed') {
    // The service closed while the page was open: say so in the page's words.
    status(t('hours_closed'));
    refreshHours();
    show('start', 'hours');
  }
  else status(t('error', { e: m.message }));
});
sig.on('pong', () => {});

sig.send({ type: 'hello', role: 'caller', name: localStorage.getItem('signrelay.name') || undefined });

$('caller-name').value = localStorage.getItem('signrelay.name') || '';
$('caller-name').addEventListener('change', (e) => localStorage.setItem('signrelay.name', e.target.value));
$('btn-call').onclick = () => placeCall(document.querySelector('input[name=purpose]:checked').value);
$('btn-emergency').onclick = () => placeCall('emergency');
$('btn-captioned').onclick = () => startCaptioned();
$('btn-use-text').onclick = () => { call.toText = true; sig.send({ type: 'cancel_call' }); };
$('btn-cancel').onclick = () => { sig.send({ type: 'cancel_call' }); };
$('btn-save').onclick = () => {
  if (summary?.text) download(`signrelay-${new Date().toISOString().slice(0, 16).replace(':', '')}.txt`, `${summary.text}\n`);
};
$('btn-vm-start').onclick = () => startVideomail();
$('btn-vm-wait').onclick = () => startVideomail();
$('btn-vm-stop').onclick = () => { $('vm-countdown').textContent = t('vm_saving'); sig.send({ type: 'stop_videomail' }); };
$('btn-vm-done').onclick = () => { show('start', 'btn-call'); status(''); };
$('btn-again').onclick = () => { summary = null; show('start', 'btn-call'); status(''); };
show('start');

// The optional profile: stored on the server only with consent; this browser keeps the token.
const PROFILE_KEY = 'signrelay.profileToken';
async function loadProfile() {
  const token = localStorage.getItem(PROFILE_KEY);
  if (!token) return;
  const res = await fetch('/api/caller-profile', { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) { localStorage.removeItem(PROFILE_KEY); return; }
  const p = await res.json();
  if (p.name) { $('caller-name').value = p.name; localStorage.setItem('signrelay.name', p.name); }
  $('pref-gender').value = p.preferred_interpreter_gender || '';
  if (p.sign_variety) $('sign-language').value = p.sign_variety;
  $('profile-consent').checked = true;
  $('btn-profile-delete').hidden = false;
}
$('btn-profile-save').onclick = async () => {
  if (!$('profile-consent').checked) { status(t('profile_need_consent')); return; }
  const token = localStorage.getItem(PROFILE_KEY);
  try {
    const saved = await api('POST', '/api/caller-profile', {
      consent: true, name: $('caller-name').value, preferred_interpreter_gender: $('pref-gender').value,
      sign_variety: $('sign-language').value,
    }, token ? { Authorization: `Bearer ${token}` } : {});
    localStorage.setItem(PROFILE_KEY, saved.token);
    $('btn-profile-delete').hidden = false;
    status(t('profile_saved'));
  } catch (e) {
    status(t('error', { e: e.message }));
  }
};
$('btn-profile-delete').onclick = async () => {
  const token = localStorage.getItem(PROFILE_KEY);
  if (token) await fetch('/api/caller-profile', { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  localStorage.removeItem(PROFILE_KEY);
  $('profile-consent').checked = false;
  $('btn-profile-delete').hidden = true;
  status(t('profile_deleted'));
};
loadProfile().catch(() => {});
loadCounter();
