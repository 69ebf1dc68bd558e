// Browser latency benchmark (not a test): time from the caller's tap to the interpreter's ring,
// and from the interpreter's accept to the first decoded remote video frame on each side, in
// real headless Chromium over loopback. Usage: SIGNRELAY_BIN=... node tests/e2e/bench.mjs [runs]
import { startServer, launchBrowser, signInInterpreter, hangUp } from './lib.mjs';

const runs = Number(process.argv[2] || 10);
const srv = await startServer();
const interp = await launchBrowser();
const caller = await launchBrowser();
const marks = (page) => page.evaluate(() => window.signrelay?.marks || {});
const waitMark = (page, name) => page.waitForFunction((n) => window.signrelay?.marks?.[n], name, { timeout: 20000, polling: 10 });
const ring = []; const callerFrame = []; const interpFrame = [];
try {
  await signInInterpreter(interp.page, srv.url, 'anna', 'pw-anna');
  for (let i = 0; i < runs; i += 1) {
    await interp.page.evaluate(() => { (window.signrelay ||= {}).marks = {}; });
    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-call');
    await waitMark(interp.page, 'ring_shown');
    await interp.page.click('#btn-accept');
    await waitMark(caller.page, 'first_frame');
    await waitMark(interp.page, 'first_frame');
    const c = await marks(caller.page); const m = await marks(interp.page);
    ring.push(m.ring_shown - c.call_clicked);
    callerFrame.push(c.first_frame - m.accept_clicked);
    interpFrame.push(m.first_frame - m.accept_clicked);
    await hangUp(caller.page);
    await caller.page.waitForSelector('#ended:not([hidden])');
    await interp.page.waitForSelector('#my-status[data-status="available"]');
  }
} finally {
  await interp.browser.close(); await caller.browser.close(); await srv.stop();
}
const stat = (v) => { const s = [...v].sort((a, b) => a - b); return `p50 ${s[Math.floor((s.length - 1) / 2)]} ms, max ${s[s.length - 1]} ms`; };
console.log(`browser call path over loopback, ${runs} calls (headless Chromium, fake camera):`);
console.log(`  tap "call" -> interpreter's console rings:          ${stat(ring)}`);
console.log(`  accept -> caller decodes interpreter's first frame: ${stat(callerFrame)}`);
console.log(`  accept -> interpreter decodes caller's first frame: ${stat(interpFrame)}`);
