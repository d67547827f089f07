// The web chat at / in a real browser: Debian's Chromium driven by
// playwright-core (never a downloaded browser). Against r1 serve on the
// trained r1-distill-tiny, with an API key: the key prompt, a question whose
// thinking block appears and then collapses with its duration, the answer
// rendered, stop mid-answer, the conversation back after a reload, and a
// phone-sized viewport. Screenshots go to R1_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { BASE, KEY } from './common.mjs';

const SHOTS = process.env.R1_SCREENSHOTS ?? '/tmp';
const CHROMIUM = process.env.R1_CHROMIUM ?? '/usr/bin/chromium';
let browser, context, page;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
});

test('the page asks for the API key, then answers with a collapsible thought', async () => {
  await page.goto(BASE + '/');
  await page.waitForSelector('#model');
  // The model list needs the key: the prompt appears.
  await page.waitForSelector('#keypanel.open', { timeout: 10_000 });
  await page.screenshot({ path: `${SHOTS}/webui_key.png` });
  await page.fill('#key', KEY);
  await page.click('#keypanel button');
  await page.waitForFunction(() => document.getElementById('model').textContent !== 'r1.cpp');
  // Greedy, so the trained model's answer is the deterministic one.
  await page.click('#settings-btn');
  await page.fill('#s-temp', '0');
  await page.fill('#s-max', '400');
  await page.click('#settings button[type=submit]');
  await page.fill('#input', 'What is 347+589?');
  await page.click('#send');
  await page.waitForSelector('.msg.assistant details.think', { timeout: 60_000 });
  // Once the answer starts the thought collapses and says how long it took.
  await page.waitForFunction(() => {
    const d = document.querySelector('.msg.assistant details.think');
    return d && !d.open && /Thought for [0-9.]+ s/.test(d.querySelector('summary').textContent);
  }, null, { timeout: 60_000 });
  await page.waitForFunction(() => document.getElementById('send').textContent === 'Send', null, { timeout: 60_000 });
  const answer = await page.textContent('.msg.assistant .answer');
  assert.match(answer, /936/);
  const thought = await page.textContent('.msg.assistant details.think .text');
  assert.ok(thought.length > 20);
  assert.match(await page.textContent('#speed'), /tok\/s/);
  await page.screenshot({ path: `${SHOTS}/webui_answer.png` });
});

test('stop mid-answer, and the conversation survives a reload', async () => {
  await page.click('#settings-btn');
  await page.fill('#s-max', '2000');
  await page.click('#settings button[type=submit]');
  await page.fill('#input', 'Sort these numbers: 9 3 7 1 8 2 6 4 5 0 11 15 13 12 14 19 17 16 18 10');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('send').textContent === 'Stop');
  await page.waitForFunction(() => (document.querySelectorAll('.msg.assistant')[1]?.textContent ?? '').length > 5);
  await page.click('#send');  // Stop
  await page.waitForFunction(() => document.getElementById('send').textContent === 'Send', null, { timeout: 10_000 });
  assert.equal(await page.locator('.msg.user').count(), 2);
  await page.reload();
  await page.waitForSelector('.msg.user');
  assert.equal(await page.locator('.msg.user').count(), 2);
  assert.match(await page.textContent('.msg.assistant .answer'), /936/);
  assert.equal(await page.locator('.conv').count(), 1);
});

test('edit and resend replaces the last turn; regenerate reruns it', async () => {
  await page.click('.msg.user >> nth=1 >> .edit');
  assert.match(await page.inputValue('#input'), /Sort these numbers/);
  assert.equal(await page.locator('.msg.user').count(), 1);
  await page.fill('#input', 'What is 12+30?');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('send').textContent === 'Send' &&
    document.querySelectorAll('.msg.assistant').length === 2, null, { timeout: 60_000 });
  // (A two-turn history is new to the tiny model: its reply may be only a thought.)
  const reply = () => page.evaluate(() => {
    const m = document.querySelectorAll('.msg.assistant')[1];
    return (m.querySelector('.think .text')?.textContent ?? '') + '|' + m.querySelector('.answer').textContent;
  });
  const first = await reply();
  await page.click('.msg.assistant >> nth=1 >> .regen');
  await page.waitForFunction(() => document.getElementById('send').textContent === 'Send' &&
    document.querySelectorAll('.msg.assistant').length === 2 &&
    /tokens/.test(document.querySelectorAll('.msg.assistant')[1].querySelector('.stat').textContent), null, { timeout: 60_000 });
  assert.equal(await reply(), first, 'greedy: the same reply again');
});

test('a phone-sized screen', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  await p.goto(BASE + '/');
  await p.evaluate((k) => localStorage.setItem('r1.key', JSON.stringify(k)), KEY);
  await p.reload();
  assert.equal(await p.isVisible('#menu'), true, 'the conversation list folds into a menu');
  const box = await p.locator('#input').boundingBox();
  assert.ok(box.width > 200 && box.x + box.width <= 390, 'the input fits the screen');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no horizontal scrolling');
  await p.screenshot({ path: `${SHOTS}/webui_phone.png` });
  await phone.close();
});
