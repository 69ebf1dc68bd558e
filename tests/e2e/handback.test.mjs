// Hand-over: an interpreter who must leave gives the call back; the caller is told, stays
// first in line, and the next interpreter's console rings and connects with media both ways.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp, axeProblems } from './lib.mjs';

describe('hand-over to the next interpreter', { timeout: 150000 }, () => {
  let srv; let anna; let bo; let caller;

  before(async () => {
    // A short stretch, so the console's hand-over suggestion shows within the test.
    srv = await startServer('[captions]\nenabled = false', { service: 'handover_suggest_secs = 3' });
    [anna, bo, caller] = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser()]);
  });

  after(async () => {
    for (const b of [anna, bo, caller]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  it('the call goes to the next interpreter and the first is set away', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await waitForMediaFrom(caller.page, 1);
    // The console counts the stretch and, past the configured time, suggests handing over.
    assert.match(await anna.page.textContent('#call-clock'), /通话 \d\d:\d\d/);
    await anna.page.waitForFunction(() => /建议交给下一位/.test(document.getElementById('handover-hint').textContent), null, { timeout: 10000 });
    assert.ok(await anna.page.$('#btn-handback.suggested'));
    assert.deepEqual(await axeProblems(anna.page), [], 'axe on the console in a call');

    // One tap only arms it; Bo comes on duty meanwhile.
    await anna.page.click('#btn-handback');
    assert.equal(await anna.page.getAttribute('#btn-handback', 'data-armed'), '1');
    await signInInterpreter(bo.page, srv.url, 'bo', 'pw-bo');
    await anna.page.click('#btn-handback');

    await caller.page.waitForFunction(() => /换班|handed over/.test(document.getElementById('status').textContent), null, { timeout: 10000 });
    await bo.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.waitForSelector('#my-status[data-status="away"]', { timeout: 10000 });
    await bo.page.click('#btn-accept');
    await waitForMediaFrom(caller.page, 1);
    await waitForMediaFrom(bo.page, 1);
    assert.match(await caller.page.textContent('.tile.main figcaption'), /Bo/);
    await hangUp(caller.page);
    await bo.page.waitForSelector('#incall', { state: 'hidden', timeout: 10000 });
  });
});
