// The API surface with the official openai client: chat (streaming and not),
// reasoning_content, usage, stop strings, completions, errors, auth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { BASE, KEY, MODEL, client, prompt, streamChat } from './common.mjs';

const c = client();

test('health and models', async () => {
  const h = await fetch(`${BASE}/health`);
  assert.equal(h.status, 200);
  const models = await c.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, MODEL);
});

test('non-streaming chat carries reasoning_content and usage', async () => {
  const r = await c.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: prompt(1) }], max_tokens: 12, seed: 7, temperature: 0.8,
  });
  const m = r.choices[0].message;
  assert.equal(m.role, 'assistant');
  assert.equal(typeof m.reasoning_content, 'string');
  assert.ok(m.reasoning_content.length > 0, 'the R1 template starts in <think>, so output is reasoning');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 12);
  assert.ok(r.usage.prompt_tokens > 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 12);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 12);
});

test('thinking budget splits reasoning from content; streaming equals non-streaming', async () => {
  const body = { model: MODEL, messages: [{ role: 'user', content: prompt(2) }], max_tokens: 80, seed: 11,
    temperature: 0.7, max_thinking_tokens: 5 };
  const r = await c.chat.completions.create(body);
  const m = r.choices[0].message;
  assert.ok(m.reasoning_content.length > 0);
  assert.ok(m.content.length > 0, 'after the forced </think> the model answers');
  // The budget closes the thought gracefully: 5 sampled tokens, then the close text up to </think>.
  assert.ok(m.reasoning_content.trimEnd().endsWith('I have thought about this long enough; time to write the answer.'),
    JSON.stringify(m.reasoning_content));
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens > 6);
  const s = await streamChat(c, body);
  assert.equal(s.reasoning, m.reasoning_content);
  assert.equal(s.content, m.content);
  assert.equal(s.finish, r.choices[0].finish_reason);
  assert.deepEqual(s.usage.completion_tokens_details, r.usage.completion_tokens_details);
  assert.equal(s.usage.completion_tokens, r.usage.completion_tokens);
  // reasoning_effort "none" skips thinking altogether.
  const none = await c.chat.completions.create({ ...body, max_thinking_tokens: undefined, reasoning_effort: 'none' });
  assert.equal(none.choices[0].message.reasoning_content, '');
  // An empty thought is forced: "\n" and </think> are its reasoning tokens.
  assert.equal(none.usage.completion_tokens_details.reasoning_tokens, 2);
});

test('stop strings end the content early, across token boundaries', async () => {
  const body = { model: MODEL, messages: [{ role: 'user', content: prompt(3) }], max_tokens: 40, seed: 5,
    temperature: 0.9, reasoning_effort: 'none' };
  const full = (await c.chat.completions.create(body)).choices[0].message.content;
  assert.ok(full.length >= 12, `content long enough: ${JSON.stringify(full)}`);
  const stop = full.slice(6, 9);  // likely spans token boundaries
  const cut = full.slice(0, full.indexOf(stop));
  const r = await c.chat.completions.create({ ...body, stop: [stop, 'never-appears-here'] });
  assert.equal(r.choices[0].message.content, cut);
  assert.equal(r.choices[0].finish_reason, 'stop');
  const s = await streamChat(c, { ...body, stop });
  assert.equal(s.content, cut);
  assert.equal(s.finish, 'stop');
});

test('completions endpoint and logprobs', async () => {
  const r = await c.completions.create({ model: MODEL, prompt: 'Hello, world!', max_tokens: 6, seed: 1, logprobs: 2 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 6);
  assert.equal(r.choices[0].logprobs.tokens.length, 6);
  const chat = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 4, seed: 3, logprobs: true, top_logprobs: 3, reasoning_effort: 'none' });
  const lp = chat.choices[0].logprobs.content;
  assert.ok(lp.length >= 1);
  assert.equal(lp[0].top_logprobs.length, 3);
  assert.ok(lp[0].logprob <= 0);
});

test('401 without the API key', async () => {
  const bad = new OpenAI({ baseURL: `${BASE}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 401);
  const r = await fetch(`${BASE}/v1/models`);
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error.code, 'invalid_api_key');
});

test('malformed fields get a 400 naming the field; unknown fields are ignored', async () => {
  const post = (body) => fetch(`${BASE}/v1/chat/completions`, { method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body });
  const cases = [
    [{ messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }, 'temperature'],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: -3 }, 'max_tokens'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ messages: 'hello' }, 'messages'],
    [{ messages: [{ role: 'user', content: 'x' }], stop: [1, 2] }, 'stop'],
    [{ messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'extreme' }, 'reasoning_effort'],
  ];
  for (const [body, param] of cases) {
    const r = await post(JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body));
    const e = (await r.json()).error;
    assert.equal(e.param, param);
    assert.match(e.message, new RegExp(param.replace(/[[\]]/g, '.')));
  }
  const bad = await post('{"messages": [');
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /JSON/);
  const ok = await post(JSON.stringify({ messages: [{ role: 'user', content: 'x' }], max_tokens: 2,
    some_future_field: { a: 1 }, user: 'u1' }));
  assert.equal(ok.status, 200);
});

test('a prompt longer than the context is a 400', async () => {
  const long = 'hello world '.repeat(5000);
  await assert.rejects(c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: long }] }),
    (e) => e.status === 400 && /context/.test(e.message));
});
