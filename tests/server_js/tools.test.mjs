// Tool calling on the trained r1-distill-tiny, which calls a `calculator`
// tool in R1's format for 4×4-digit products and answers from its result:
// a full loop with the openai client (streamed deltas reassemble to the
// non-streamed call), and the same call as Anthropic tool_use blocks,
// Responses function_call items and Ollama tool_calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import Anthropic from '@anthropic-ai/sdk';
import { BASE, KEY, MODEL, calculator, client } from './common.mjs';

const openai = client();
const question = 'Calculate 2440 × 7449';
const product = String(2440 * 7449);

test('openai: the model calls the calculator, gets the result, answers', async () => {
  const messages = [{ role: 'user', content: question }];
  const r = await openai.chat.completions.create({ model: MODEL, messages, tools: [calculator], temperature: 0, max_tokens: 400 });
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(choice.message));
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'calculator');
  const args = JSON.parse(call.function.arguments);
  assert.match(args.expression, /2440/);
  assert.ok(!(choice.message.content ?? '').includes('tool▁call'), 'the call is not left in the content');
  // Streamed: the deltas reassemble to the same call.
  const stream = await openai.chat.completions.create({ model: MODEL, messages, tools: [calculator], temperature: 0,
    max_tokens: 400, stream: true });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    for (const d of ch.delta.tool_calls ?? []) {
      if (d.id) calls[d.index] = { id: d.id, name: d.function.name, arguments: '' };
      calls[d.index].arguments += d.function.arguments ?? '';
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'calculator');
  assert.equal(calls[0].arguments, call.function.arguments);
  // The loop: the tool's result goes back, and the model answers with it.
  const answer = await openai.chat.completions.create({
    model: MODEL, tools: [calculator], temperature: 0, max_tokens: 200,
    messages: [...messages, { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: product }],
  });
  assert.equal(answer.choices[0].finish_reason, 'stop');
  assert.match(answer.choices[0].message.content, new RegExp(product));
  // tool_choice none: the call stays text (forcing one: structured.test.mjs).
  const none = await openai.chat.completions.create({ model: MODEL, messages, tools: [calculator], tool_choice: 'none',
    temperature: 0, max_tokens: 400 });
  assert.equal(none.choices[0].message.tool_calls, undefined);
});

test('anthropic: tool_use blocks and a tool_result turn', async () => {
  const anthropic = new Anthropic({ baseURL: BASE, apiKey: KEY, maxRetries: 0 });
  const tools = [{ name: 'calculator', description: calculator.function.description, input_schema: calculator.function.parameters }];
  const m = await anthropic.messages.create({ model: MODEL, max_tokens: 400, temperature: 0, tools,
    messages: [{ role: 'user', content: question }] });
  assert.equal(m.stop_reason, 'tool_use');
  const use = m.content.find((b) => b.type === 'tool_use');
  assert.equal(use.name, 'calculator');
  assert.match(use.input.expression, /2440/);
  const streamed = await anthropic.messages.stream({ model: MODEL, max_tokens: 400, temperature: 0, tools,
    messages: [{ role: 'user', content: question }] }).finalMessage();
  assert.deepEqual(streamed.content.find((b) => b.type === 'tool_use').input, use.input);
  const answer = await anthropic.messages.create({ model: MODEL, max_tokens: 200, temperature: 0, tools,
    messages: [{ role: 'user', content: question }, { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: product }] }] });
  assert.match(answer.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), new RegExp(product));
});

test('responses and ollama: the same call', async () => {
  const r = await openai.responses.create({ model: MODEL, input: question, temperature: 0, max_output_tokens: 400,
    tools: [{ type: 'function', name: 'calculator', description: calculator.function.description,
      parameters: calculator.function.parameters }] });
  const fc = r.output.find((o) => o.type === 'function_call');
  assert.equal(fc.name, 'calculator');
  assert.match(JSON.parse(fc.arguments).expression, /2440/);
  let streamedArgs = '';
  for await (const e of await openai.responses.create({ model: MODEL, input: question, temperature: 0, max_output_tokens: 400,
    stream: true, tools: [{ type: 'function', name: 'calculator', parameters: calculator.function.parameters }] }))
    if (e.type === 'response.function_call_arguments.delta') streamedArgs += e.delta;
  assert.equal(streamedArgs, fc.arguments);
  const ollama = new Ollama({ host: BASE, headers: { Authorization: `Bearer ${KEY}` } });
  const o = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: question }], tools: [calculator],
    stream: false, options: { temperature: 0, num_predict: 400 } });
  assert.equal(o.message.tool_calls[0].function.name, 'calculator');
  assert.match(o.message.tool_calls[0].function.arguments.expression, /2440/);
});
