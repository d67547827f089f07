// Run against a server with --parallel 1 --max-queue 1 (server_e2e_test
// starts one): with the sequence slot and the queue taken, the next request
// gets 429 with Retry-After, and the others are not disturbed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, client, kvIdle, metrics, waitFor } from './common.mjs';

const c = client();

test('a full queue answers 429 with Retry-After', async () => {
  const ask = (content, max_tokens) => ({ model: MODEL, messages: [{ role: 'user', content }], max_tokens, seed: 1 });
  // A long stream holds the only sequence slot ...
  const controller = new AbortController();
  const running = await c.chat.completions.create({ ...ask('long', 1500), stream: true },
    { signal: controller.signal });
  const it = running[Symbol.asyncIterator]();
  await it.next();
  assert.ok(await waitFor(async () => (await metrics()).r1_active_sequences === 1), 'the stream is running');
  // ... a second request waits in the queue ...
  const queued = c.chat.completions.create(ask('short', 2));
  assert.ok(await waitFor(async () => (await metrics()).r1_queue_depth === 1), 'the second request is queued');
  // ... so a third is turned away, by the openai client's own error type.
  await assert.rejects(c.chat.completions.create(ask('third', 2)), (e) => {
    assert.equal(e.status, 429);
    assert.equal(e.headers.get ? e.headers.get('retry-after') : e.headers['retry-after'], '1');  // openai v5: a Headers object
    assert.equal(e.error?.type, 'rate_limit_error');
    return true;
  });
  const m = await metrics();
  assert.ok(m['r1_requests_total{endpoint="/v1/chat/completions",status="429"}'] >= 1);
  // Freeing the slot lets the queued request run to its end.
  controller.abort();
  const r = await queued;
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 2);
  assert.ok(await kvIdle());
});
