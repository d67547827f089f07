// The other APIs of r1 serve, each driven by its official client: Ollama
// (ollama-js), Anthropic Messages (@anthropic-ai/sdk) and OpenAI Responses
// (openai). Each client's typed parsing must accept our responses; streamed
// and non-streamed answers agree; errors come in each API's own shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import Anthropic from '@anthropic-ai/sdk';
import { BASE, KEY, MODEL, client, prompt } from './common.mjs';

const ollama = new Ollama({ host: BASE, headers: { Authorization: `Bearer ${KEY}` } });
const anthropic = new Anthropic({ baseURL: BASE, apiKey: KEY, maxRetries: 0, timeout: 120_000 });
const openai = client();

// ---- Ollama -----------------------------------------------------------------

test('ollama: chat, streamed and not, with thinking', async () => {
  const req = { model: MODEL, messages: [{ role: 'user', content: prompt(31) }], options: { temperature: 0, num_predict: 16 } };
  const r = await ollama.chat({ ...req, stream: false });
  assert.equal(r.done, true);
  assert.equal(r.done_reason, 'length');
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.message.thinking.length > 0, 'R1 output starts in the thought');
  assert.equal(r.eval_count, 16);
  assert.ok(r.prompt_eval_count > 5);
  assert.ok(r.total_duration >= r.eval_duration && r.eval_duration > 0);
  let thinking = '', content = '', last = null;
  for await (const part of await ollama.chat({ ...req, stream: true })) {
    thinking += part.message.thinking ?? '';
    content += part.message.content;
    last = part;
  }
  assert.equal(last.done, true);
  assert.equal(thinking, r.message.thinking);
  assert.equal(content, r.message.content);
});

test('ollama: think false gives no thought, generate works raw and templated', async () => {
  const r = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: prompt(32) }], stream: false,
    think: false, options: { temperature: 0, num_predict: 24 } });
  assert.equal(r.message.thinking ?? '', '');
  const g = await ollama.generate({ model: MODEL, prompt: prompt(33), stream: false, options: { temperature: 0, num_predict: 8, seed: 3 } });
  assert.equal(g.done, true);
  assert.equal(g.eval_count, 8);
  assert.ok((g.thinking ?? '').length + g.response.length > 0);
  let text = '';
  for await (const part of await ollama.generate({ model: MODEL, prompt: 'once upon a time', raw: true, stream: true,
    options: { temperature: 0, num_predict: 8 } })) text += part.response;
  assert.ok(text.length > 0);
});

test('ollama: tags, show, ps, version', async () => {
  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  assert.equal(tags.models[0].name, MODEL);
  assert.equal(tags.models[0].details.format, 'gguf');
  assert.ok(tags.models[0].size > 0);
  const show = await ollama.show({ model: MODEL });
  assert.ok(show.capabilities.includes('completion'));
  assert.ok(show.capabilities.includes('thinking'));
  assert.ok(show.template.length > 0);
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, MODEL);
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+$/);
});

test('ollama: bad input gets Ollama errors naming the field', async () => {
  await assert.rejects(ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: false,
    options: { temperature: 'hot' } }), (e) => e.status_code === 400 && /options\.temperature/.test(e.error));
  await assert.rejects(ollama.chat({ model: MODEL, messages: [], stream: false }), (e) => e.status_code === 400 && /messages/.test(e.error));
  const res = await fetch(`${BASE}/api/chat`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: '{"model":' });
  assert.equal(res.status, 400);
  assert.equal(typeof (await res.json()).error, 'string');
  const noKey = await fetch(`${BASE}/api/tags`);
  assert.equal(noKey.status, 401);
  assert.equal(typeof (await noKey.json()).error, 'string');
});

// ---- Anthropic --------------------------------------------------------------

test('anthropic: messages with thinking blocks, streamed and not', async () => {
  const req = { model: MODEL, max_tokens: 16, temperature: 0, system: 'Be brief.',
    messages: [{ role: 'user', content: [{ type: 'text', text: prompt(41) }] }], thinking: { type: 'enabled', budget_tokens: 1024 } };
  const m = await anthropic.messages.create(req);
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.equal(m.stop_reason, 'max_tokens');
  assert.equal(m.content[0].type, 'thinking');
  assert.ok(m.content[0].thinking.length > 0);
  assert.equal(m.content[m.content.length - 1].type, 'text');
  assert.equal(m.usage.output_tokens, 16);
  assert.ok(m.usage.input_tokens > 5);
  const events = [];
  const stream = anthropic.messages.stream(req);
  stream.on('streamEvent', (e) => events.push(e.type));
  const fin = await stream.finalMessage();
  assert.equal(events[0], 'message_start');
  assert.equal(events[events.length - 1], 'message_stop');
  assert.ok(events.includes('content_block_start') && events.includes('content_block_delta') && events.includes('message_delta'));
  assert.deepEqual(fin.content.map((b) => b.type), m.content.map((b) => b.type));
  assert.equal(fin.content[0].thinking, m.content[0].thinking);
  assert.equal(fin.stop_reason, 'max_tokens');
  assert.equal(fin.usage.output_tokens, 16);
});

test('anthropic: thinking disabled, multi-turn, stop sequences', async () => {
  const m = await anthropic.messages.create({ model: MODEL, max_tokens: 24, temperature: 0, thinking: { type: 'disabled' },
    messages: [{ role: 'user', content: prompt(42) }, { role: 'assistant', content: 'Sure.' }, { role: 'user', content: 'Go on.' }] });
  assert.deepEqual(m.content.map((b) => b.type), ['text']);
  assert.ok(['end_turn', 'max_tokens'].includes(m.stop_reason));
});

test('anthropic: errors in Anthropic shape', async () => {
  await assert.rejects(anthropic.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 400 && e.error?.type === 'error' && e.error?.error?.type === 'invalid_request_error' &&
      /max_tokens/.test(e.error.error.message));
  await assert.rejects(anthropic.messages.create({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] }),
    (e) => e.status === 400 && /messages\.0\.content\.0/.test(e.error.error.message));
  const bad = new Anthropic({ baseURL: BASE, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.messages.create({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 401 && e.error?.error?.type === 'authentication_error');
});

// ---- OpenAI Responses -------------------------------------------------------

test('responses: reasoning item and output_text, streamed and not', async () => {
  const req = { model: MODEL, input: prompt(51), instructions: 'Answer.', max_output_tokens: 16, temperature: 0 };
  const r = await openai.responses.create(req);
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'incomplete');
  assert.equal(r.incomplete_details.reason, 'max_output_tokens');
  assert.equal(r.output[0].type, 'reasoning');
  assert.ok(r.output[0].summary[0].text.length > 0);
  assert.equal(r.output[r.output.length - 1].type, 'message');
  assert.equal(typeof r.output_text, 'string');
  assert.equal(r.usage.output_tokens, 16);
  assert.equal(r.usage.output_tokens_details.reasoning_tokens + 0 <= 16, true);
  const types = [];
  let reasoning = '', text = '', final = null, seq = -1;
  for await (const e of await openai.responses.create({ ...req, stream: true })) {
    types.push(e.type);
    assert.equal(e.sequence_number, seq + 1, 'sequence numbers count up');
    seq = e.sequence_number;
    if (e.type === 'response.reasoning_summary_text.delta') reasoning += e.delta;
    if (e.type === 'response.output_text.delta') text += e.delta;
    if (e.type === 'response.completed' || e.type === 'response.incomplete') final = e.response;
  }
  assert.equal(types[0], 'response.created');
  assert.ok(types.includes('response.output_item.added') && types.includes('response.output_item.done'));
  assert.equal(reasoning, r.output[0].summary[0].text);
  assert.equal(text, r.output_text);
  assert.equal(final.status, 'incomplete');
  assert.deepEqual(final.output.map((o) => o.type), r.output.map((o) => o.type));
});

test('responses: items input, effort none, and errors', async () => {
  const r = await openai.responses.create({ model: MODEL, max_output_tokens: 24, temperature: 0, reasoning: { effort: 'none' },
    input: [{ role: 'user', content: [{ type: 'input_text', text: prompt(52) }] }] });
  assert.ok(!r.output.some((o) => o.type === 'reasoning' && o.summary[0]?.text));
  await assert.rejects(openai.responses.create({ model: MODEL, input: 'x', previous_response_id: 'resp_1' }),
    (e) => e.status === 400 && /previous_response_id/.test(e.message));
  await assert.rejects(openai.responses.create({ model: MODEL, input: 'x', max_output_tokens: 0 }),
    (e) => e.status === 400 && e.error?.param === 'max_output_tokens');
});

test('the server is healthy after all of it', async () => {
  const h = await fetch(`${BASE}/health`);
  assert.equal(h.status, 200);
});
