// A deaf resident's first call on a phone, as a new user meets it (390×844, Chinese and
// English, keyboard, axe-core): typed text arrives in order under load, every waiting screen
// says one consistent thing, the emergency screen says what this service is not and shows
// the alternatives at once, the interpreter's video stays in view while typing, text reflows
// at 200 %, and the end of a call offers to save the conversation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp, axeProblems, setTextZoom,
  sidewaysOverflow, burnCpu,
} from './lib.mjs';

const PHONE = { width: 390, height: 844 };

// Every screen of the waiting room shows exactly one state.
async function waitState(page) {
  return page.evaluate(() => ({
    state: document.querySelector('#wait-state').textContent,
    detail: document.querySelector('#wait-detail').textContent,
    status: document.querySelector('#status').textContent,
    useText: !document.querySelector('#btn-use-text').hidden,
    emergency: !document.querySelector('#emergency-box').hidden,
  }));
}

async function noAxeProblems(page, where) {
  const problems = await axeProblems(page);
  assert.deepEqual(problems, [], `axe on ${where}`);
}

describe('first call on a phone', { timeout: 300000 }, () => {
  let srv; let caller; let anna;

  before(async () => {
    srv = await startServer('[captions]\nenabled = false');
    [caller, anna] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser()]);
  });

  after(async () => {
    for (const b of [caller, anna]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('the start page has one emergency control and passes axe in both languages', async () => {
    await caller.page.goto(`${srv.url}/`);
    assert.equal(await caller.page.locator('input[value="emergency"]').count(), 0);
    assert.equal(await caller.page.locator('#btn-emergency').count(), 1);
    await noAxeProblems(caller.page, 'start (zh)');
    await caller.page.click('#lang-toggle');
    assert.equal(await caller.page.getAttribute('html', 'lang'), 'en');
    await noAxeProblems(caller.page, 'start (en)');
    // The toggle stays on one line.
    const h = await caller.page.$eval('#lang-toggle', (b) => b.getBoundingClientRect().height);
    assert.ok(h < 60, `language toggle is ${h}px tall`);
    await caller.page.click('#lang-toggle');
  });

  it('with no interpreter online the waiting screen says so once and offers text', async () => {
    await caller.page.click('#btn-call');
    await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('暂无翻译员在线'));
    const s = await waitState(caller.page);
    assert.doesNotMatch(s.state, /下一位|前面还有/, JSON.stringify(s));
    assert.doesNotMatch(`${s.state} ${s.detail} ${s.status}`, /排队中|正在接通|预计等待/, JSON.stringify(s));
    assert.ok(s.useText, 'use text instead is offered');
    assert.ok(!s.emergency);
    // Focus moved to the new state, which a screen reader announces politely.
    assert.equal(await caller.page.evaluate(() => document.activeElement.id), 'wait-state');
    assert.equal(await caller.page.getAttribute('#wait-state', 'aria-live'), 'polite');
    await noAxeProblems(caller.page, 'waiting, no interpreter');
  });

  it('an interpreter who is signed in but away is not "you are next"', async () => {
    await anna.page.goto(`${srv.url}/interpreter`);
    await anna.page.fill('#username', 'anna');
    await anna.page.fill('#password', 'pw-anna');
    await anna.page.click('#login button[type=submit]');
    await anna.page.waitForSelector('#console:not([hidden])');
    await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('暂时离开'));
    const s = await waitState(caller.page);
    assert.doesNotMatch(`${s.state} ${s.detail}`, /暂无翻译员在线|预计等待/, JSON.stringify(s));
    assert.doesNotMatch(s.state, /下一位/, JSON.stringify(s));
  });

  it('"use text instead" starts a captioned call with an invitation for the hearing person', async () => {
    await caller.page.click('#btn-use-text');
    await caller.page.waitForSelector('#invite-url', { timeout: 10000 });
    await hangUp(caller.page);
    await caller.page.waitForSelector('#ended:not([hidden])', { timeout: 10000 });
    await caller.page.click('#btn-again');
  });

  it('an emergency call says what this service is not and shows the text alternatives at once', async () => {
    await caller.page.click('#btn-emergency');
    // Shown before the server has even answered.
    await caller.page.waitForSelector('#emergency-box:not([hidden])', { timeout: 1000 });
    const links = await caller.page.$$eval('#emergency-contacts a', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.includes('sms:12110'), JSON.stringify(links));
    assert.match(await caller.page.textContent('#emergency-box'), /不是 110、119、120/);
    await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('暂时离开'));
    await noAxeProblems(caller.page, 'emergency waiting');
    await caller.page.click('#lang-toggle');
    assert.match(await caller.page.textContent('#emergency-box'), /not 110, 119 or 120/);
    assert.match(await caller.page.textContent('#wait-state'), /away/);
    await caller.page.click('#lang-toggle');
    await caller.page.click('#btn-cancel');
    await caller.page.waitForSelector('#start:not([hidden])');
  });

  it('a ring stays on the console with a countdown, in the tab title, until it is answered', async () => {
    await anna.page.click('#btn-presence');
    await anna.page.waitForSelector('#my-status[data-status="available"]');
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 5000 });
    await caller.page.waitForFunction(() => document.querySelector('#wait-state').textContent.includes('正在接通'));
    const s = await waitState(caller.page);
    assert.doesNotMatch(`${s.state} ${s.detail}`, /排队|暂无/, JSON.stringify(s));
    const first = await anna.page.textContent('#ring-countdown');
    await new Promise((r) => setTimeout(r, 5200));
    assert.ok(await anna.page.isVisible('#alert'), 'the visual alert stays while ringing');
    assert.ok(await anna.page.isVisible('#ring'));
    assert.notEqual(await anna.page.textContent('#ring-countdown'), first, 'the countdown runs');
    assert.match(await anna.page.title(), /来电/);
    await anna.page.click('#lang-toggle');
    await anna.page.waitForFunction(() => document.querySelector('#alert').textContent.includes('Incoming call'));
    assert.match(await anna.page.textContent('#ring-countdown'), /Moves on in/);
    await anna.page.click('#lang-toggle');
    await noAxeProblems(anna.page, 'console ringing');
    await anna.page.click('#btn-accept');
    await anna.page.waitForFunction(() => !document.title.includes('来电'));
    assert.ok(!(await anna.page.isVisible('#alert')) || !(await anna.page.textContent('#alert')).includes('新来电'));
    await waitForMediaFrom(caller.page, 1);
    await waitForMediaFrom(anna.page, 1);
  });

  it('typed fast under CPU load, text arrives in order, backspaces and IME input included', async () => {
    await caller.page.waitForFunction(() => window.signrelay.media.rttOpen(), null, { timeout: 10000 });
    await anna.page.waitForFunction(() => window.signrelay.media.rttOpen(), null, { timeout: 10000 });
    const stop = burnCpu(2);
    try {
      const input = caller.page.locator('#rtt-input');
      await input.focus();
      let expect = '';
      const plan = ['abcdefghijklmnopqrstuvwxyz0123456789', '<BS>', '<BS>', ' The quick brown fox',
        '<IME>谢谢您', '<BS>', '<IME>的帮助', ' jumps over', '<BS>', 'r the lazy dog', '<IME>再见。'];
      for (const step of plan) {
        if (step === '<BS>') {
          await caller.page.keyboard.press('Backspace', { delay: 10 });
          expect = Array.from(expect).slice(0, -1).join('');
        } else if (step.startsWith('<IME>')) {
          // An input method commits a whole phrase at once, without key events per character.
          const text = step.slice(5);
          await caller.page.keyboard.insertText(text);
          expect += text;
        } else {
          for (const ch of step) {
            await caller.page.keyboard.type(ch, { delay: 10 + Math.floor(Math.random() * 20) });
            expect += ch;
          }
        }
      }
      // The interpreter sees the line as it is typed, exactly, before it is sent.
      await anna.page.waitForFunction((want) => document.querySelector('#live')?.textContent.endsWith(want), expect, { timeout: 10000 });
      await caller.page.keyboard.press('Enter');
      const line = await anna.page.waitForFunction(() => {
        const items = [...document.querySelectorAll('#history li')];
        return items.length ? items.at(-1).textContent : null;
      }, null, { timeout: 10000 });
      assert.equal((await line.jsonValue()).replace(/^[^：:]*[：:]\s?/, ''), expect.trim());
      // Nothing arrived after the line break.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await anna.page.textContent('#live'), '');
    } finally {
      stop();
    }
  });

  it("on the phone the interpreter's video stays on screen while the text box has focus", async () => {
    await caller.page.locator('#rtt-input').focus();
    await caller.page.locator('#rtt-input').scrollIntoViewIfNeeded();
    const r = await caller.page.$eval('.tile.main video', (v) => {
      const b = v.getBoundingClientRect();
      return { top: b.top, bottom: b.bottom, h: innerHeight };
    });
    assert.ok(r.top >= 0 && r.bottom <= r.h && r.bottom - r.top > 150, JSON.stringify(r));
    const input = await caller.page.$eval('#rtt-input', (el) => {
      const b = el.getBoundingClientRect();
      return { top: b.top, bottom: b.bottom, h: innerHeight };
    });
    assert.ok(input.top >= r.bottom - 1 && input.bottom <= input.h, `the text box is on screen too: ${JSON.stringify(input)}`);
    // The self-view does not cover the interpreter's name label.
    const overlap = await caller.page.evaluate(() => {
      const a = document.querySelector('.tile.main figcaption').getBoundingClientRect();
      const b = document.querySelector('.selfview').getBoundingClientRect();
      return !(a.right < b.left || b.right < a.left || a.bottom < b.top || b.bottom < a.top);
    });
    assert.equal(overlap, false);
    await noAxeProblems(caller.page, 'in call (phone)');
    await noAxeProblems(anna.page, 'console in a call');
  });

  it('switching language mid-call relabels the whole call screen', async () => {
    await caller.page.click('#lang-toggle');
    assert.equal(await caller.page.textContent('#btn-hangup'), 'Hang up');
    assert.match(await caller.page.textContent('#btn-cam'), /^Camera: on$/);
    assert.equal(await caller.page.textContent('#tp-h'), 'Text conversation');
    assert.match(await caller.page.textContent('.tile.main figcaption'), /Interpreter/);
    await caller.page.click('#lang-toggle');
    assert.match(await caller.page.textContent('#btn-cam'), /^摄像头：开$/);
  });

  it('at 200 % text and at 320 px the call screen reflows without sideways scrolling', async () => {
    await setTextZoom(caller.page, 200);
    assert.equal(await sidewaysOverflow(caller.page), 0);
    const box = await caller.page.$eval('#rtt-input', (el) => el.getBoundingClientRect().width);
    assert.ok(box > 150, `message box is ${box}px wide`);
    await caller.page.setViewportSize({ width: 320, height: 700 });
    assert.equal(await sidewaysOverflow(caller.page), 0);
    await setTextZoom(caller.page, 100);
    await caller.page.setViewportSize(PHONE);
  });

  it('hang-up asks once; the end offers to save the conversation and to call again', async () => {
    await caller.page.click('#btn-hangup');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await caller.page.isVisible('#incall'), 'one tap does not end the call');
    await caller.page.click('#btn-hangup');
    await caller.page.waitForSelector('#ended:not([hidden])', { timeout: 10000 });
    assert.equal(await caller.page.evaluate(() => document.activeElement.id), 'ended-h');
    const ended = await caller.page.evaluate(() => document.body.innerText.split('通话已结束').length - 1);
    assert.ok(ended <= 2, `"通话已结束" shown ${ended} times`);
    assert.ok(await caller.page.isVisible('#btn-save'));
    const [download] = await Promise.all([caller.page.waitForEvent('download'), caller.page.click('#btn-save')]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    assert.match(readFileSync(path, 'utf8'), /the lazy dog/);
    await noAxeProblems(caller.page, 'call ended');
    assert.ok(await caller.page.isVisible('#btn-again'));
  });
});

describe('every page at phone size: axe-core and 200 % text', { timeout: 180000 }, () => {
  let srv; let b;
  before(async () => {
    srv = await startServer('[captions]\nenabled = false');
    b = await launchBrowser({ viewport: PHONE });
  });
  after(async () => {
    await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  for (const path of ['/', '/interpreter', '/guest#00', '/organize', '/admin', '/events/nope', '/stage#x.y']) {
    it(`${path}: no serious axe problem, no sideways scrolling at 200 % and at 320 px`, async () => {
      await b.page.setViewportSize(PHONE);
      await b.page.goto(`${srv.url}${path}`);
      await b.page.waitForLoadState('networkidle');
      await noAxeProblems(b.page, path);
      await setTextZoom(b.page, 200);
      assert.equal(await sidewaysOverflow(b.page), 0, `${path} scrolls sideways at 200 %`);
      await b.page.setViewportSize({ width: 320, height: 640 });
      assert.equal(await sidewaysOverflow(b.page), 0, `${path} scrolls sideways at 320 px`);
    });
  }

  for (const [path, user, pass, ready] of [
    ['/admin', 'boss', 'pw-boss-long', '#desk:not([hidden])'],
    ['/organize', 'org', 'pw-org', '#desk:not([hidden])'],
    ['/interpreter', 'anna', 'pw-anna', '#console:not([hidden])'],
  ]) {
    it(`${path} signed in: no serious axe problem, no sideways scrolling at 200 % and at 320 px`, async () => {
      await b.page.setViewportSize(PHONE);
      await b.page.goto(`${srv.url}${path}`);
      await b.page.fill('#username', user);
      await b.page.fill('#password', pass);
      await b.page.click('#login button[type=submit]');
      await b.page.waitForSelector(ready);
      await b.page.waitForLoadState('networkidle');
      await noAxeProblems(b.page, `${path} signed in`);
      await setTextZoom(b.page, 200);
      assert.equal(await sidewaysOverflow(b.page), 0, `${path} scrolls sideways at 200 %`);
      await b.page.setViewportSize({ width: 320, height: 640 });
      assert.equal(await sidewaysOverflow(b.page), 0, `${path} scrolls sideways at 320 px`);
    });
  }
});
