// Screenshots of every screen a caller, interpreter, viewer and admin meets, at phone size (390×844)
// in Chinese and English, and at 200 % text: `node tests/e2e/screenshots.mjs [out-dir]`
// (SIGNRELAY_BIN set, as for the tests). Written to tests/e2e/artifacts/screens by default.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launchBrowser, signInInterpreter, waitForMediaFrom, createEvent, setTextZoom, hangUp,
} from './lib.mjs';

const out = process.argv[2] || join(import.meta.dirname, 'artifacts/screens');
mkdirSync(out, { recursive: true });
const PHONE = { width: 390, height: 844 };
const srv = await startServer('[captions]\nenabled = false');
const caller = await launchBrowser({ viewport: PHONE });
const anna = await launchBrowser({ viewport: PHONE });
const viewer = await launchBrowser({ viewport: PHONE });
const speaker = await launchBrowser();
const interp = await launchBrowser();
const admin = await launchBrowser({ viewport: PHONE });

async function shot(b, name) {
  for (const lang of ['zh', 'en']) {
    await b.page.evaluate((l) => {
      const cur = localStorage.getItem('signrelay.lang') || 'zh';
      if (cur !== l) document.getElementById('lang-toggle')?.click();
    }, lang);
    await b.page.screenshot({ path: join(out, `${name}-${lang}.png`) });
  }
  // English at 200 % too: its long words are where text breaks badly, not Chinese.
  await setTextZoom(b.page, 200);
  await b.page.screenshot({ path: join(out, `${name}-en-200.png`), fullPage: true });
  await b.page.evaluate(() => { if ((localStorage.getItem('signrelay.lang') || 'zh') !== 'zh') document.getElementById('lang-toggle')?.click(); });
  await b.page.screenshot({ path: join(out, `${name}-zh-200.png`), fullPage: true });
  await setTextZoom(b.page, 100);
}

try {
  await caller.page.goto(`${srv.url}/`);
  await shot(caller, 'caller-start');
  await caller.page.click('#btn-call');
  await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('暂无'));
  await shot(caller, 'caller-waiting-no-interpreter');
  await caller.page.click('#btn-cancel');
  await caller.page.waitForSelector('#start:not([hidden])');
  await caller.page.click('#btn-emergency');
  await caller.page.waitForSelector('#emergency-box:not([hidden])');
  await new Promise((r) => setTimeout(r, 500));
  await shot(caller, 'caller-emergency');
  await caller.page.click('#btn-cancel');
  await caller.page.waitForSelector('#start:not([hidden])');

  await anna.page.goto(`${srv.url}/interpreter`);
  await shot(anna, 'console-login');
  await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
  await caller.page.click('#btn-call');
  await anna.page.waitForSelector('#ring:not([hidden])');
  await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('正在接通'));
  await shot(caller, 'caller-ringing');
  await shot(anna, 'console-ringing');
  await anna.page.click('#btn-accept');
  await waitForMediaFrom(caller.page, 1);
  await caller.page.locator('#rtt-input').pressSequentially('您好，我想问社保卡补办。', { delay: 20 });
  await caller.page.keyboard.press('Enter');
  await anna.page.locator('#rtt-input').pressSequentially('好的，请说', { delay: 20 });
  await caller.page.locator('#rtt-input').focus();
  await shot(caller, 'caller-in-call');
  await shot(anna, 'console-in-call');
  await hangUp(caller.page);
  await caller.page.waitForSelector('#ended:not([hidden])');
  await shot(caller, 'caller-ended');

  const ev = await createEvent(srv.url, { title: '市政府新闻发布会', language: 'zh' });
  await speaker.page.goto(`${srv.url}${ev.broadcaster_path}`);
  await speaker.page.click('#btn-live');
  await interp.page.goto(`${srv.url}${ev.interpreter_path}`);
  await interp.page.click('#btn-live');
  await viewer.page.goto(`${srv.url}${ev.viewer_path}`);
  await waitForMediaFrom(viewer.page, 2);
  await shot(viewer, 'viewer');

  // The admin's dashboard on a phone, with a counter and the seeded accounts in its lists.
  await admin.page.goto(`${srv.url}/admin`);
  await admin.page.fill('#username', 'boss');
  await admin.page.fill('#password', 'pw-boss-long');
  await admin.page.click('#login button[type=submit]');
  await admin.page.waitForSelector('#desk:not([hidden])');
  await admin.page.fill('#nc-name', '3号窗口');
  await admin.page.fill('#nc-dept', '社保局');
  await admin.page.click('#new-counter button[type=submit]');
  await admin.page.waitForSelector('#counter-list tr');
  await shot(admin, 'admin-dashboard');
  console.log(`screenshots in ${out}`);
} finally {
  for (const b of [caller, anna, viewer, speaker, interp, admin]) await b.browser.close().catch(() => {});
  await srv.stop();
}
