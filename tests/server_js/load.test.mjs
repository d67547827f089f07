// Continuous batching under load: outputs identical to solo runs, nothing
// lost or duplicated, no leaked KV blocks after disconnects, and abusive
// connections (bad JSON, huge bodies, slow-loris) do not disturb the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BASE, KEY, MODEL, client, kvIdle, metrics, prompt, streamChat, waitFor } from './common.mjs';

const c = client();
const body = (i, maxTokens) => ({ model: MODEL, messages: [{ role: 'user', content: prompt(100 + i, 4 + (i % 7) * 5) }],
  max_tokens: maxTokens, seed: 1000 + i, temperature: 0.9, top_p: 0.95, max_thinking_tokens: 3 + (i % 4) });

test('a fixed seed gives the same output alone or among 16 concurrent requests', async () => {
  const target = { ...body(0, 24), temperature: 1.3 };
  const alone = await c.chat.completions.create(target);
  const others = [];
  for (let i = 1; i <= 16; ++i) others.push(c.chat.completions.create(body(i, 5 + 3 * i)));
  const [together] = await Promise.all([c.chat.completions.create(target), ...others]);
  assert.deepEqual(together.choices[0].message, alone.choices[0].message);
  assert.deepEqual(together.usage.completion_tokens_details, alone.usage.completion_tokens_details);
});

test('32 concurrent streams each match their solo run', async () => {
  const N = 32;
  const before = await metrics();
  const solo = [];
  for (let i = 0; i < N; ++i) solo.push(await streamChat(c, body(i, 16 + (i % 5) * 4)));
  const together = await Promise.all(Array.from({ length: N }, (_, i) => streamChat(c, body(i, 16 + (i % 5) * 4))));
  for (let i = 0; i < N; ++i) {
    assert.equal(together[i].reasoning, solo[i].reasoning, `stream ${i} reasoning`);
    assert.equal(together[i].content, solo[i].content, `stream ${i} content`);
    assert.equal(together[i].finish, 'length');
    assert.equal(together[i].usage.completion_tokens, 16 + (i % 5) * 4);
  }
  const after = await kvIdle();
  assert.ok(after, 'KV returns to idle (only prefix-cache blocks remain)');
  const grewMiB = (after.process_resident_memory_bytes - before.process_resident_memory_bytes) / 2 ** 20;
  console.log(`RSS ${(before.process_resident_memory_bytes / 2 ** 20).toFixed(1)} MiB before the load, ` +
    `${(after.process_resident_memory_bytes / 2 ** 20).toFixed(1)} MiB after`);
  assert.ok(grewMiB < 24, `memory returns to baseline (grew ${grewMiB.toFixed(1)} MiB)`);
  const generated = after.r1_completion_tokens_total - before.r1_completion_tokens_total;
  const expected = 2 * Array.from({ length: N }, (_, i) => 16 + (i % 5) * 4).reduce((a, b) => a + b);
  assert.equal(generated, expected, 'no token lost or duplicated');
});

test('disconnecting clients leave no KV blocks behind', async () => {
  const before = await metrics();
  const runs = [];
  for (let i = 0; i < 12; ++i) runs.push(streamChat(c, body(200 + i, 2000), { abortAfter: 3 + (i % 4) }));
  await Promise.all(runs);
  const m = await kvIdle();
  assert.ok(m, 'all sequences freed after the clients went away');
  assert.ok(m.r1_requests_cancelled_total - (before.r1_requests_cancelled_total ?? 0) >= 12);
});

test('a non-streaming client that disconnects frees its sequence', async () => {
  const before = await metrics();
  const url = new URL(BASE);
  const closed = `r1_requests_total{endpoint="/v1/chat/completions",status="499"}`;
  const socks = [];
  for (let i = 0; i < 4; ++i) {
    const req = JSON.stringify({ ...body(400 + i, 1900), max_thinking_tokens: undefined });
    const s = net.connect(Number(url.port), url.hostname);
    s.on('error', () => {});
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(req)}\r\n\r\n${req}`);
    socks.push(s);
  }
  assert.ok(await waitFor(async () => (await metrics()).r1_active_sequences === 4), 'all four are generating');
  for (const s of socks) s.destroy();
  const m = await kvIdle();
  assert.ok(m, 'all sequences freed after the clients went away');
  assert.equal(m[closed] - (before[closed] ?? 0), 4, 'each logged as 499 (client closed)');
  assert.equal(m.r1_requests_cancelled_total - before.r1_requests_cancelled_total, 4);
  const generated = m.r1_completion_tokens_total - before.r1_completion_tokens_total;
  assert.ok(generated < 4 * 1900, `cancelled early (${generated} tokens generated)`);
});

test('bad JSON, huge bodies and slow-loris connections do not disturb other streams', async () => {
  // Slow-loris: sockets that send half a request and then nothing.
  const loris = [];
  const url = new URL(BASE);
  for (let i = 0; i < 8; ++i) {
    const s = net.connect(Number(url.port), url.hostname);
    s.on('error', () => {});
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 1000\r\n\r\n{"mess`);
    loris.push(s);
  }
  // The well-behaved streams must give exactly their undisturbed output.
  const solo = [];
  for (let i = 0; i < 6; ++i) solo.push(await streamChat(c, body(300 + i, 20)));
  const good = Array.from({ length: 6 }, (_, i) => streamChat(c, body(300 + i, 20)));
  const post = (b) => fetch(`${BASE}/v1/chat/completions`, { method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: b });
  const bad = [];
  for (let i = 0; i < 10; ++i) bad.push(post('{"messages": [ {"role": "user", "content": "x"'));
  bad.push(post('x'.repeat(20 * 1024 * 1024)).catch(() => ({ status: 413 })));
  const badRes = await Promise.all(bad);
  for (const r of badRes.slice(0, 10)) assert.equal(r.status, 400);
  assert.equal(badRes[10].status, 413);
  const results = await Promise.all(good);
  results.forEach((r, i) => {
    assert.equal(r.finish, solo[i].finish, `stream ${i} finish`);
    assert.equal(r.usage.completion_tokens, solo[i].usage.completion_tokens, `stream ${i} tokens`);
    assert.equal(r.reasoning, solo[i].reasoning, `stream ${i} reasoning`);
    assert.equal(r.content, solo[i].content, `stream ${i} content`);
    if (r.finish === 'length') assert.equal(r.usage.completion_tokens, 20);
  });
  for (const s of loris) s.destroy();
  assert.ok(await kvIdle());
});
