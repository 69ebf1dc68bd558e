// A counter's printable poster: its name, the QR code of its permanent caller link, and how to
// use it, in Chinese and English at once (a poster has no language toggle).
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const code = decodeURIComponent(location.hash.slice(1));

async function load() {
  if (!code) { $('status').textContent = t('error', { e: 'no code' }); return; }
  const r = await fetch(`/api/counters/${encodeURIComponent(code)}`);
  if (!r.ok) {
    let why = r.statusText;
    try { why = (await r.json()).message || why; } catch { /* not JSON */ }
    $('status').textContent = t('error', { e: why });
    return;
  }
  const p = await r.json();
  // Absolute with the configured public address, else the one this page was opened at.
  const link = new URL(p.link, location.origin).href;
  $('poster-name').textContent = p.name;
  $('poster-dept').textContent = [p.department, p.address].filter(Boolean).join(' · ');
  $('poster-qr').src = `/qr.svg?text=${encodeURIComponent(link)}`;
  $('poster-qr').alt = `QR: ${link}`;
  $('poster-link').textContent = link;
  $('poster').hidden = false;
  document.title = `${p.name} · ${document.title}`;
}
$('btn-print').onclick = () => window.print();
load();
