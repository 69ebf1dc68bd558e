// Helpers for the end-to-end tests: a real signrelay server process and real headless
// Chromium with fake camera/microphone.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const SHARED = resolve(process.env.SIGNRELAY_SHARED || join(import.meta.dirname, '../../../shared'));

export function serverBin() {
  const bin = process.env.SIGNRELAY_BIN;
  if (!bin || !existsSync(bin)) throw new Error(`SIGNRELAY_BIN not set or missing: ${bin}`);
  return bin;
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

let portBase = 42000 + (process.pid % 50) * 100;

// Starts the server with the given TOML extras; resolves when /healthz answers.
// `service` goes into the [service] table (which extraToml, appended last, cannot reopen).
export async function startServer(extraToml = '', { service = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'signrelay-e2e-'));
  const port = await freePort();
  const min = portBase; portBase += 100;
  const cfg = `listen = "127.0.0.1:${port}"
data_dir = "${dir}/data"
[media]
port_min = ${min}
port_max = ${min + 99}
[service]
ring_timeout_secs = 30
${service}
[[interpreters]]
username = "anna"
password = "pw-anna"
display_name = "安娜"
[[interpreters]]
username = "bo"
password = "pw-bo"
display_name = "Bo"
[[organizers]]
username = "org"
password = "pw-org"
${extraToml}`;
  writeFileSync(join(dir, 'config.toml'), cfg);
  // An admin for the dashboard, created the way an operator would: with the CLI.
  execFileSync(serverBin(), ['admin', '--config', join(dir, 'config.toml'), 'create-user',
    '--username', 'boss', '--role', 'admin', '--display-name', '主管'], {
    env: { ...process.env, SIGNRELAY_NEW_PASSWORD: 'pw-boss-long', SIGNRELAY_LOG: 'error' },
  });
  const logs = [];
  const proc = spawn(serverBin(), ['serve', '--config', join(dir, 'config.toml')], {
    env: { ...process.env, SIGNRELAY_LOG: process.env.SIGNRELAY_LOG || 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr.on('data', (d) => logs.push(d.toString()));
  proc.stdout.on('data', (d) => logs.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${logs.join('')}`);
    try { const r = await fetch(`${url}/healthz`); if (r.ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`server did not start: ${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, proc, logs, dir,
    async health() { return (await fetch(`${url}/healthz`)).json(); },
    async stop() { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); },
  };
}

// One browser per person, so each can "speak" its own audio file.
export async function launchBrowser({ audio, viewport } = {}) {
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
  ];
  if (audio) args.push(`--use-file-for-fake-audio-capture=${audio}`);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args, headless: true });
  const context = await browser.newContext({ permissions: ['camera', 'microphone'], ...(viewport ? { viewport } : {}) });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  if (process.env.E2E_CONSOLE) page.on('console', (m) => console.error('[console]', m.text()));
  return { browser, context, page };
}

// Waits until `fn` (run in the page) returns a truthy value.
export async function until(page, fn, arg, timeout = 20000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 250 });
}

// Remote media as the page's getStats() sees it, per participant id.
export async function remoteStats(page) {
  return page.evaluate(async () => (window.signrelay?.media ? window.signrelay.media.stats() : {}));
}

// Waits until the page decodes video frames and receives audio from `n` other participants.
export async function waitForMediaFrom(page, n, timeout = 25000) {
  const deadline = Date.now() + timeout;
  let last = {};
  for (;;) {
    last = await remoteStats(page);
    const good = Object.values(last).filter((v) => v.framesDecoded > 5 && v.audioPackets > 20);
    if (good.length >= n) return last;
    if (Date.now() > deadline) throw new Error(`media from ${n} participant(s) not seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function signInInterpreter(page, url, user, pass) {
  await page.goto(`${url}/interpreter`);
  await page.fill('#username', user);
  await page.fill('#password', pass);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#console:not([hidden])');
  await page.click('#btn-presence');
  // A waiting call rings at once, so "ringing" counts as having become available too.
  await page.waitForSelector('#my-status[data-status="available"], #my-status[data-status="ringing"]');
}

// The reference transcript of a clip in ../shared/speech/manifest.tsv.
export function reference(file) {
  const rows = readFileSync(join(SHARED, 'speech/manifest.tsv'), 'utf8').split('\n');
  const row = rows.map((r) => r.split('\t')).find((c) => c[0] === file);
  if (!row) throw new Error(`${file} not in manifest.tsv`);
  return row[3];
}

// A copy of a speech clip followed by silence, so Chromium's fake microphone (which loops its
// file) says it once and then stays quiet. Returns the new file's path.
export function speechThenSilence(file, silenceSecs = 30) {
  const buf = readFileSync(join(SHARED, 'speech', file));
  let fmt = null; let data = null;
  for (let off = 12; off + 8 <= buf.length;) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') fmt = buf.subarray(off + 8, off + 8 + size);
    if (id === 'data') data = buf.subarray(off + 8, off + 8 + size);
    off += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new Error(`${file}: not a WAV file`);
  const bytesPerSec = fmt.readUInt32LE(8);
  return writeWav(fmt, Buffer.concat([data, Buffer.alloc(Math.round(bytesPerSec * silenceSecs))]), file);
}

// 16 kHz mono silence: a microphone that hears nothing.
export function silence(secs = 5) {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); fmt.writeUInt16LE(1, 2); fmt.writeUInt32LE(16000, 4);
  fmt.writeUInt32LE(32000, 8); fmt.writeUInt16LE(2, 12); fmt.writeUInt16LE(16, 14);
  return writeWav(fmt, Buffer.alloc(32000 * secs), 'silence.wav');
}

function writeWav(fmt, data, name) {
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'ascii'); head.writeUInt32LE(4 + 8 + fmt.length + 8 + data.length, 4); head.write('WAVE', 8, 'ascii');
  const chunk = (id, body) => { const h = Buffer.alloc(8); h.write(id, 0, 'ascii'); h.writeUInt32LE(body.length, 4); return Buffer.concat([h, body]); };
  const dir = mkdtempSync(join(tmpdir(), 'signrelay-wav-'));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([head, chunk('fmt ', fmt), chunk('data', data)]));
  return path;
}

// Character error rate on letters and digits only (punctuation and spaces do not count).
export function cer(ref, hyp) {
  const norm = (s) => Array.from(s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, ''));
  const a = norm(ref); const b = norm(hyp);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const cur = [i];
    for (let j = 1; j <= b.length; j += 1) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return a.length ? prev[b.length] / a.length : 0;
}

// Creates an event as an organizer (the test server's TOML has organizer "org").
export async function createEvent(url, body) {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('org:pw-org').toString('base64')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create event: ${res.status} ${await res.text()}`);
  return res.json();
}

// Hang-up asks once: the first tap arms it, the second ends the call.
export async function hangUp(page) {
  await page.click('#btn-hangup');
  await page.waitForSelector('#btn-hangup[data-armed]');
  await page.click('#btn-hangup');
}

const AXE = join(import.meta.dirname, 'node_modules/axe-core/axe.min.js');

// Runs axe-core (WCAG 2.x A/AA rules) on what the page shows now; returns the serious and
// critical violations as "rule: target" strings.
export async function axeProblems(page) {
  // Evaluated by the test driver, so the pages' own Content-Security-Policy stays on.
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const res = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    resultTypes: ['violations'],
  }));
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

// The browser's own "larger text" setting, as a user sets it: the root size is relative, so
// scaling the user-agent default scales every page.
export async function setTextZoom(page, percent) {
  await page.evaluate((p) => { document.documentElement.style.fontSize = `${1.125 * p}%`; }, percent);
}

// Width the page needs beyond the viewport (0 when nothing scrolls sideways).
export async function sidewaysOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

// Keeps the machine's cores busy (for tests of ordering and lifecycles under load).
export function burnCpu(n = 2) {
  const procs = Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  return () => procs.forEach((p) => p.kill('SIGKILL'));
}

export async function metric(url, name) {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// Waits until a /metrics gauge reads `want`.
export async function metricBecomes(url, name, want, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let v;
  for (;;) {
    v = await metric(url, name);
    if (v === want) return v;
    if (Date.now() > deadline) throw new Error(`${name} is ${v}, not ${want}, after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
