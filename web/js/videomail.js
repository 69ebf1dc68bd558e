// A caller's private page for the message they left: where it stands and the interpreter's
// answer. The token comes in the URL fragment (never sent to the server in a request line
// or a Referer) and goes out only as a Bearer header.
import { t, setupLangToggle } from './i18n.js';

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

$('btn-replay').onclick = async () => {
  const r = await fetch('/api/my-videomail/video', { headers: auth });
  if (!r.ok) { $('status').textContent = t('error', { e: r.statusText }); return; }
  const v = $('vm-video');
  v.src = URL.createObjectURL(await r.blob());
  v.hidden = false;
  v.play().catch(() => {});
};
$('btn-answer-video').onclick = async () => {
  const r = await fetch('/api/my-videomail/answer-video', { headers: auth });
  if (!r.ok) { $('status').textContent = t('error', { e: r.statusText }); return; }
  const v = $('vm-answer-video');
  v.src = URL.createObjectURL(await r.blob());
  v.hidden = false;
  v.play().catch(() => {});
};
setupLangToggle(render);
load().catch(() => {});
setInterval(() => load().catch(() => {}), 20000);
