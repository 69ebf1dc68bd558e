// Team interpreting and warm transfer with three interpreters' consoles and a caller: Anna
// asks Bo to support her (the caller keeps Anna large, Bo small), they pass private notes,
// switch, Anna leaves the team, then Bo transfers warm to Cy, who is rung, joins, and after
// the overlap is alone with the caller. The records list every interpreter's stretch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, waitForMediaFrom, signInInterpreter, hangUp, axeProblems, metricBecomes,
} from './lib.mjs';

const CY = '[[interpreters]]\nusername = "cy"\npassword = "pw-cy"\ndisplay_name = "Cy"';

describe('team interpreting and warm transfer', { timeout: 240000 }, () => {
  let srv; let anna; let bo; let cy; let caller;

  before(async () => {
    srv = await startServer(`[captions]\nenabled = false\n${CY}`, { service: 'transfer_overlap_secs = 4' });
    [anna, bo, cy, caller] = await Promise.all([launchBrowser(), launchBrowser(), launchBrowser(), launchBrowser()]);
  });

  after(async () => {
    for (const b of [anna, bo, cy, caller]) await b?.browser.close().catch(() => {});
    if (srv) await srv.stop();
  });

  const mainName = (page) => page.textContent('.tile.main figcaption');

  it('a support joins, notes stay private, the pair switches and one leaves', async () => {
    await signInInterpreter(anna.page, srv.url, 'anna', 'pw-anna');
    await caller.page.goto(`${srv.url}/`);
    await caller.page.click('#btn-call');
    await anna.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    await anna.page.click('#btn-accept');
    await waitForMediaFrom(caller.page, 1);
    await signInInterpreter(bo.page, srv.url, 'bo', 'pw-bo');

    // Anna asks Bo by name; Bo's console rings with who asks and for what.
    await anna.page.waitForSelector('#team-who option[value="bo"]', { state: 'attached', timeout: 10000 });
    await anna.page.selectOption('#team-who', 'bo');
    await anna.page.click('#btn-team');
    await bo.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    assert.match(await bo.page.textContent('#ring-h'), /安娜 请您协作翻译/);
    await bo.page.click('#btn-accept');
    await anna.page.waitForFunction(() => /Bo 在辅助您/.test(document.getElementById('team-state').textContent), null, { timeout: 10000 });

    // Everyone sees everyone; the caller keeps Anna large and Bo small.
    await waitForMediaFrom(caller.page, 2);
    await waitForMediaFrom(bo.page, 2);
    assert.match(await mainName(caller.page), /安娜/);
    assert.match(await caller.page.textContent('.tile.support figcaption'), /Bo · 辅助翻译员/);
    // The support cannot end the call: the button is not there (the server refuses it too).
    assert.ok(await bo.page.isHidden('#btn-hangup'));
    assert.ok(await bo.page.isVisible('#btn-leave-team'));
    assert.deepEqual(await axeProblems(bo.page), [], 'axe on the support console');

    // A private note reaches Anna only.
    await bo.page.fill('#team-note', '药名是阿莫西林');
    await bo.page.click('#team-note-form button[type=submit]');
    await anna.page.waitForFunction(() => document.getElementById('team-notes').textContent.includes('阿莫西林'), null, { timeout: 10000 });
    assert.ok(!(await caller.page.textContent('#incall')).includes('阿莫西林'), 'the caller never sees team notes');

    // Switch: Bo leads, Anna supports; the caller's large picture follows.
    await bo.page.click('#btn-switch');
    await caller.page.waitForFunction(() => /Bo/.test(document.querySelector('.tile.main figcaption')?.textContent), null, { timeout: 10000 });
    await anna.page.waitForSelector('#btn-leave-team:not([hidden])', { timeout: 10000 });
    assert.ok(await bo.page.isVisible('#btn-hangup'));
    await anna.page.click('#btn-leave-team');
    await anna.page.waitForSelector('#incall', { state: 'hidden', timeout: 10000 });
    await anna.page.waitForSelector('#my-status[data-status="available"]', { timeout: 10000 });
    await caller.page.waitForFunction(() => !document.querySelector('.tile.support'), null, { timeout: 10000 });
  });

  it('a warm transfer rings the colleague, overlaps, and lets the first go', async () => {
    await signInInterpreter(cy.page, srv.url, 'cy', 'pw-cy');
    // Anna stepped out meanwhile, so only Cy is free.
    await anna.page.click('#btn-presence');
    await anna.page.waitForSelector('#my-status[data-status="away"]');
    await bo.page.waitForSelector('#team-who option[value="cy"]', { state: 'attached', timeout: 10000 });
    await bo.page.selectOption('#team-who', 'cy');
    await bo.page.click('#btn-transfer');
    await cy.page.waitForSelector('#ring:not([hidden])', { timeout: 10000 });
    assert.match(await cy.page.textContent('#ring-h'), /Bo 请您接手通话/);
    await cy.page.click('#btn-accept');
    await caller.page.waitForFunction(() => /Cy/.test(document.querySelector('.tile.main figcaption')?.textContent), null, { timeout: 10000 });
    assert.match(await caller.page.textContent('#alert'), /现在为您翻译的是/);
    // Both are in for a moment (Bo now supports Cy), then Bo's console leaves the call and
    // is set away.
    await bo.page.waitForFunction(() => /您在辅助 Cy/.test(document.getElementById('team-state')?.textContent || ''), null, { timeout: 3000 });
    await bo.page.waitForSelector('#incall', { state: 'hidden', timeout: 15000 });
    await bo.page.waitForSelector('#my-status[data-status="away"]', { timeout: 10000 });
    await waitForMediaFrom(cy.page, 1);
    await waitForMediaFrom(caller.page, 1);
    assert.equal(await caller.page.$$eval('.tile', (t) => t.length), 1, 'only Cy is left with the caller');

    await hangUp(caller.page);
    await cy.page.waitForSelector('#incall', { state: 'hidden', timeout: 10000 });
    // Nothing of the three interpreters' legs is left behind.
    await metricBecomes(srv.url, 'signrelay_calls{state="connected"}', 0);
    await metricBecomes(srv.url, 'signrelay_interpreters{state="busy"}', 0);
    await metricBecomes(srv.url, 'signrelay_rooms', 0);
    await metricBecomes(srv.url, 'signrelay_peers', 0);

    // The record lists every stretch: Anna, Bo supporting, Bo leading, Anna supporting, Bo
    // handing over, Cy. Cy sees the call among her own though she did not answer it.
    const calls = await cy.page.evaluate(async () => (await fetch('/api/my/calls?from_ms=0')).json());
    assert.equal(calls.length, 1, JSON.stringify(calls));
    const stretches = calls[0].interpreters.map((s) => `${s.username}:${s.support ? 'support' : 'active'}`);
    assert.deepEqual(stretches, ['anna:active', 'bo:support', 'bo:active', 'anna:support', 'bo:support', 'cy:active']);
    assert.equal(calls[0].answered_by, 'anna');
  });
});
