// The console's videomail queue: messages callers left when nobody could answer, with the
// unread count; playing one marks it in progress, and the interpreter answers it in text
// (the caller reads it at their private link) or closes it.
import { t, duration } from './i18n.js';
import { api } from './api.js';
import { getCamera, MediaSession } from './media.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 15000;

export class VideomailPanel {
  constructor(sig, { onCallBack } = {}) {
    this.sig = sig;
    this.onCallBack = onCallBack;
    this.rec = null; // {stream, media, deadline, timer} while recording an answer
    this.messages = [];
    this.unread = 0;
    this.open = null; // id of the message shown
    this.timer = null;
    this.url = null;
    $('vm-answer-form').addEventListener('submit', (e) => { e.preventDefault(); this.answer(); });
    $('btn-vm-close').onclick = () => this.close();
    $('btn-vm-record').onclick = () => this.startRecording();
    $('btn-vm-rec-stop').onclick = () => { $('vm-rec-countdown').textContent = t('vm_saving'); this.sig.send({ type: 'stop_videomail' }); };
    $('btn-vm-answer-play').onclick = () => this.playAnswer();
  }

  // Recording a video answer: the server records it from the media connection, as it does
  // callers' messages.
  recording() { return !!this.rec?.media; }

  async startRecording() {
    if (!this.open || this.rec) return;
    let stream;
    try { stream = await getCamera(); } catch (e) { $('status').textContent = t('media_denied', { e: e.message }); return; }
    this.rec = { stream, media: null, deadline: null, timer: null };
    $('vm-rec').hidden = false;
    $('vm-rec-preview').srcObject = stream;
    $('vm-rec-countdown').textContent = t('vm_starting');
    this.sig.send({ type: 'record_answer', videomail: this.open, text: $('vm-answer').value.trim() || undefined });
  }

  onRecording(m) {
    if (!this.rec) return;
    this.rec.media = new MediaSession(this.sig, { localStream: this.rec.stream });
    this.rec.deadline = Date.now() + m.max_secs * 1000;
    const tick = () => {
      const left = Math.max(0, Math.round((this.rec.deadline - Date.now()) / 1000));
      $('vm-rec-countdown').textContent = t('vm_left', { t: duration(left) });
    };
    tick();
    this.rec.timer = setInterval(tick, 1000);
  }

  onOffer(m) { this.rec?.media?.handleOffer(m.sdp); }

  stopRecording() {
    if (!this.rec) return;
    clearInterval(this.rec.timer);
    this.rec.media?.close();
    this.rec.stream.getTracks().forEach((tr) => tr.stop());
    this.rec = null;
    $('vm-rec').hidden = true;
    $('vm-rec-preview').srcObject = null;
  }

  onSaved() {
    this.stopRecording();
    $('vm-answer').value = '';
    $('status').textContent = t('vm_answer_sent');
    this.load();
  }

  async playAnswer() {
    if (!this.open) return;
    const res = await fetch(`/api/videomail/${encodeURIComponent(this.open)}/answer-video`);
    if (!res.ok) { $('status').textContent = t('error', { e: res.statusText }); return; }
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(await res.blob());
    $('vm-video').src = this.url;
    $('vm-video').play().catch(() => {});
  }

  // Called once the console has its web session.
  start() {
    this.load();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), POLL_MS);
  }

  async load() {
    try {
      const r = await api('GET', '/api/videomail');
      this.messages = r.messages;
      this.unread = r.unread;
      $('vm-box').hidden = false;
      this.render();
    } catch { /* videomail off, or signed out: the panel stays hidden */ }
  }

  render() {
    if ($('vm-box').hidden) return;
    $('vm-unread').textContent = this.unread ? t('vm_unread', { n: this.unread }) : '';
    $('vm-unread').hidden = !this.unread;
    document.title = document.title.replace(/^\(\d+\) /, '');
    if (this.unread) document.title = `(${this.unread}) ${document.title}`;
    const body = $('vm-list');
    body.innerHTML = '';
    if (!this.messages.length) {
      body.insertRow().insertCell().textContent = t('vm_none');
    }
    for (const m of this.messages) {
      const tr = body.insertRow();
      tr.dataset.vm = m.id;
      tr.dataset.state = m.state;
      tr.insertCell().textContent = new Date(m.created_at_ms).toLocaleString();
      tr.insertCell().textContent = duration(Math.round(m.duration_ms / 1000));
      tr.insertCell().textContent = [t(`vm_state_${m.state}`), m.answered_by ? t('vm_by', { n: m.answered_by }) : ''].filter(Boolean).join(' · ');
      const play = document.createElement('button');
      play.type = 'button';
      play.textContent = t('vm_play');
      play.onclick = () => this.show(m.id);
      const cell = tr.insertCell();
      cell.append(play);
      // The author has their message's page open: a call back rings there.
      if (m.caller_online && m.state !== 'closed' && this.onCallBack) {
        const cb = document.createElement('button');
        cb.type = 'button';
        cb.className = 'vm-call-back';
        cb.textContent = t('vm_call_back');
        cb.onclick = () => this.onCallBack(m.id);
        cell.append(' ', cb);
      }
    }
    const m = this.messages.find((x) => x.id === this.open);
    if (m) this.renderDetail(m);
  }

  renderDetail(m) {
    $('vm-detail-h').textContent = `${t('vm_title')} · ${new Date(m.created_at_ms).toLocaleString()} · ${t(`vm_state_${m.state}`)}`;
    const done = m.state === 'answered' || m.state === 'closed';
    $('vm-answer').disabled = done;
    $('vm-answer-form').querySelector('button[type=submit]').disabled = done;
    $('btn-vm-record').disabled = done || !!this.rec;
    $('btn-vm-answer-play').hidden = !m.answer_video_ms;
    $('btn-vm-close').disabled = m.state === 'closed';
    $('vm-answered').textContent = m.answer_text ? t('vm_answered_with', { t: m.answer_text })
      : m.answer_video_ms ? t('vm_answered_video', { t: duration(Math.round(m.answer_video_ms / 1000)) }) : '';
  }

  async show(id) {
    this.open = id;
    $('vm-detail').hidden = false;
    const m = this.messages.find((x) => x.id === id);
    if (m) this.renderDetail(m);
    try {
      const res = await fetch(`/api/videomail/${encodeURIComponent(id)}/video`);
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message || res.statusText);
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(await res.blob());
      $('vm-video').src = this.url;
      $('vm-detail-h').focus();
      $('vm-video').play().catch(() => {});
    } catch (e) {
      $('status').textContent = t('error', { e: e.message });
    }
    await this.load();
  }

  async answer() {
    const text = $('vm-answer').value.trim();
    if (!text || !this.open) return;
    try {
      await api('POST', `/api/videomail/${encodeURIComponent(this.open)}/answer`, { text });
      $('vm-answer').value = '';
      $('status').textContent = t('vm_answer_sent');
    } catch (e) { $('status').textContent = t('error', { e: e.message }); }
    await this.load();
  }

  async close() {
    if (!this.open) return;
    try { await api('POST', `/api/videomail/${encodeURIComponent(this.open)}/close`); } catch (e) { $('status').textContent = t('error', { e: e.message }); }
    await this.load();
  }
}
