import { t, setupLangToggle, duration, currentLang } from './i18n.js';
import { connectSignal } from './signal.js';
import { getCamera, mark } from './media.js';
import { InCall, flash } from './incall.js';
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const sections = ['start', 'waiting', 'incall', 'ended'];
const show = (id) => sections.forEach((s) => { $(s).hidden = s !== id; });
const status = (text) => { $('status').textContent = text; };

let welcome = null;
let incall = null;
let stream = null;
let lastQueue = null;
// Set while the call waits again after its interpreter dropped: the caller must keep seeing why.
let requeued = false;

const sig = connectSignal({ onClose: () => status(t('disconnected')) });

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
}

function renderQueue() {
  if (!lastQueue) return;
  const ahead = lastQueue.position - 1;
  $('queue-position').textContent = ahead === 0 ? t('position_next') : t('position', { n: ahead });
  $('queue-wait').textContent = lastQueue.estimated_wait_secs == null
    ? t('est_unknown') : t('est_wait', { t: duration(lastQueue.estimated_wait_secs) });
}

setupLangToggle(() => { fillLanguages(); renderQueue(); });

function ensureInCall() {
  if (!incall) {
    show('incall');
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
}

async function placeCall(purpose) {
  mark('call_clicked');
  status('');
  try {
    stream = await getCamera();
  } catch (e) {
    // Text-only is still a call: the interpreter can type back.
    status(t('media_denied', { e: e.message }));
    stream = null;
  }
  sig.send({
    type: 'place_call', purpose, sign_language: $('sign-language').value || undefined,
    preferred_interpreter_gender: $('pref-gender').value || undefined,
  });
  lastQueue = null;
  $('queue-position').textContent = t('waiting');
  $('queue-wait').textContent = '';
  show('waiting');
}

sig.on('welcome', (m) => { welcome = m; fillLanguages(); });
sig.on('queued', (m) => {
  lastQueue = m;
  if (!incall) show('waiting');
  renderQueue();
  status(requeued ? `${t('interp_lost')} · ${$('queue-position').textContent}` : t('waiting'));
});
sig.on('connecting', () => { status(t('connecting')); $('queue-position').textContent = t('connecting'); });
sig.on('call_connected', (m) => {
  requeued = false;
  if (!m.interpreter) {
    // A captioned call: the hearing party still has to be invited.
    status(t('captioned_started'));
    ensureInCall();
    sig.send({ type: 'create_invite' });
    return;
  }
  flash(`${t('answered')}：${m.interpreter}`); status(t('answered')); ensureInCall();
});
sig.on('caption', (m) => incall?.onCaption(m));
sig.on('room', (m) => ensureInCall().onRoom(m));
sig.on('offer', (m) => ensureInCall().onOffer(m));
sig.on('chat', (m) => incall?.onChat(m));
sig.on('invite_created', (m) => incall?.onInvite(m));
sig.on('interpreter_lost', () => { requeued = true; flash(t('interp_lost')); status(t('interp_lost')); });
sig.on('call_ended', () => { requeued = false; endCall(); show('ended'); status(t('ended')); flash(t('ended')); });
sig.on('error', (m) => status(t('error', { e: m.message })));
sig.on('pong', () => {});

sig.send({ type: 'hello', role: 'caller', name: localStorage.getItem('signrelay.name') || undefined });

$('caller-name').value = localStorage.getItem('signrelay.name') || '';
$('caller-name').addEventListener('change', (e) => localStorage.setItem('signrelay.name', e.target.value));
$('btn-call').onclick = () => placeCall(document.querySelector('input[name=purpose]:checked').value);
$('btn-emergency').onclick = () => placeCall('emergency');
$('btn-captioned').onclick = async () => {
  status('');
  try { stream = await getCamera(); } catch (e) { status(t('media_denied', { e: e.message })); stream = null; }
  sig.send({ type: 'start_captioned_call' });
};
$('btn-cancel').onclick = () => { sig.send({ type: 'cancel_call' }); };
$('btn-again').onclick = () => { show('start'); status(''); };
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
