// One RTCPeerConnection to the server. The server makes every offer; this page only answers,
// trickles its candidates, and sorts incoming tracks and text channels by participant id.
// Timestamps of milestones (first of each), read by the latency benchmark.
export function mark(name) {
  const sr = (window.signrelay ||= {});
  const marks = (sr.marks ||= {});
  if (marks[name] === undefined) marks[name] = Date.now();
}

export async function getCamera() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true },
    // Signing needs motion more than pixels: ask for frame rate first (EN 301 549 §6.5: >= 20 fps).
    video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25, min: 15 } },
  });
  for (const tr of stream.getVideoTracks()) tr.contentHint = 'motion';
  return stream;
}

export class MediaSession {
  constructor(signal, { localStream, iceServers, onTrack, onRtt, onRttOpen }) {
    this.signal = signal;
    this.localStream = localStream;
    this.iceServers = iceServers || [];
    this.onTrack = onTrack;
    this.onRtt = onRtt;
    this.onRttOpen = onRttOpen;
    this.pc = null;
    this.you = null;
    this.channels = new Map(); // participant id -> RTCDataChannel
    this.trackOwner = new Map(); // track id -> participant id
    this.pending = Promise.resolve();
    // New TURN credentials apply to the connection in use as well as the next one.
    this.stopIce = this.signal.onIceServers?.((servers) => {
      if (!this.pc) return;
      try { this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: servers }); } catch (err) { console.warn('ICE servers not updated', err); }
    });
  }

  setYou(pid) { this.you = pid; }

  createPc() {
    const pc = new RTCPeerConnection({ iceServers: this.signal.iceServers?.() || this.iceServers });
    if (this.localStream) {
      for (const tr of this.localStream.getTracks()) pc.addTrack(tr, this.localStream);
    }
    pc.onicecandidate = (e) => {
      if (e.candidate) {
        this.signal.send({ type: 'candidate', candidate: e.candidate.candidate,
          sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
      }
    };
    pc.ontrack = (e) => {
      const stream = e.streams[0];
      const pid = stream ? stream.id : e.track.id.split('-')[0];
      this.trackOwner.set(e.track.id, pid);
      if (this.onTrack) this.onTrack(pid, stream || new MediaStream([e.track]), e.track);
    };
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      if (!ch.label.startsWith('rtt:')) return;
      const pid = ch.label.slice(4);
      this.channels.set(pid, ch);
      ch.onmessage = (m) => { if (pid !== this.you && this.onRtt && typeof m.data === 'string') this.onRtt(pid, m.data); };
      ch.onopen = () => { if (pid === this.you && this.onRttOpen) this.onRttOpen(); };
      if (ch.readyState === 'open' && pid === this.you && this.onRttOpen) this.onRttOpen();
    };
    this.pc = pc;
    return pc;
  }

  // Offers are applied one at a time, in arrival order.
  handleOffer(sdp) {
    this.pending = this.pending.then(async () => {
      const pc = this.pc || this.createPc();
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.signal.send({ type: 'answer', sdp: pc.localDescription.sdp });
      this.preferFrameRate();
    }).catch((err) => console.error('offer failed', err, window.signrelayDebug ? sdp : ''));
    return this.pending;
  }

  preferFrameRate() {
    for (const s of this.pc.getSenders()) {
      if (s.track && s.track.kind === 'video') {
        const p = s.getParameters();
        p.degradationPreference = 'maintain-framerate';
        s.setParameters(p).catch(() => {});
      }
    }
  }

  rttOpen() {
    const ch = this.channels.get(this.you);
    return !!ch && ch.readyState === 'open';
  }

  sendRtt(text) {
    const ch = this.channels.get(this.you);
    if (!ch || ch.readyState !== 'open') return false;
    ch.send(text);
    return true;
  }

  setEnabled(kind, on) {
    if (!this.localStream) return;
    for (const tr of this.localStream.getTracks()) if (tr.kind === kind) tr.enabled = on;
  }

  // Per remote participant: video frames decoded and audio packets received (used by tests
  // and shown in the connection-quality tooltip).
  async stats() {
    const out = {};
    if (!this.pc) return out;
    for (const r of this.pc.getReceivers()) {
      if (!r.track) continue;
      const pid = this.trackOwner.get(r.track.id);
      if (!pid) continue;
      const rep = await r.getStats();
      rep.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const o = (out[pid] ||= { framesDecoded: 0, audioPackets: 0, audioBytes: 0, fps: 0 });
        if (s.kind === 'video') { o.framesDecoded += s.framesDecoded || 0; o.fps = s.framesPerSecond || o.fps; }
        if (s.kind === 'audio') { o.audioPackets += s.packetsReceived || 0; o.audioBytes += s.bytesReceived || 0; }
      });
    }
    return out;
  }

  close() {
    this.stopIce?.();
    if (this.pc) this.pc.close();
    this.pc = null;
    this.channels.clear();
  }
}
