// Caption latency in the browser, end to end: a speaker page's fake microphone says a 30 s
// Mandarin clip, a viewer page shows the captions. For every final line: the time it was shown
// minus the time the end of its audio reached the server (the capture-and-send leg before
// that is tens of ms on loopback and not included). Run: node tests/e2e/caption-bench.mjs
import { startServer, launchBrowser, createEvent, speechThenSilence, reference, cer } from './lib.mjs';

const CLIP = process.argv[2] || 'zh_long_concat_shared.wav';
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.round((s.length - 1) * p)]; };

const srv = await startServer();
const [speaker, viewer] = await Promise.all([launchBrowser({ audio: speechThenSilence(CLIP, 60) }), launchBrowser()]);
try {
  const ev = await createEvent(srv.url, { title: 'bench', language: 'zh' });
  await viewer.page.goto(`${srv.url}${ev.viewer_path}`);
  await speaker.page.goto(`${srv.url}${ev.broadcaster_path}`);
  await speaker.page.click('#btn-live');
  await viewer.page.waitForSelector('#badge[data-kind="live"]', { timeout: 20000 });
  // The clip, then time for the last words to be committed.
  await new Promise((r) => setTimeout(r, 45000));
  const log = await viewer.page.evaluate(() => window.signrelay.captionLog || []);
  const delays = log.map((l) => (l.shown - l.audio_end) / 1000);
  const text = log.map((l) => l.text).join('');
  console.log(`clip ${CLIP}: ${log.length} final lines, CER ${(cer(reference(CLIP), text) * 100).toFixed(1)} %`);
  console.log(`caption shown after its audio: p50 ${pct(delays, 0.5).toFixed(2)} s  p95 ${pct(delays, 0.95).toFixed(2)} s  max ${Math.max(...delays).toFixed(2)} s`);
  console.log(text);
} finally {
  await speaker.browser.close();
  await viewer.browser.close();
  await srv.stop();
}
