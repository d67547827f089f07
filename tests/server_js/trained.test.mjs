// The trained r1-tiny through `r1 serve` and the openai client: it thinks in
// reasoning_content and answers in content with \boxed{N}; a thinking budget
// of 0 gives a direct answer; a conversation offering the calculator tool
// makes it emit a call in R1's own token format (parsing it into tool_calls
// is the tool-calling issue's work: here the raw text is checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, calculator, client } from './common.mjs';

const c = client();
const ask = (content, extra = {}) => c.chat.completions.create({
  model: MODEL, messages: [{ role: 'user', content }], temperature: 0, max_tokens: 400, ...extra });


test('r1-tiny thinks, then answers with the boxed result', async () => {
  for (const [q, want] of [['What is 347+589?', '936'], ['Compute 73*58.', '4234'], ['What is 905 minus 47?', '858']]) {
    const r = await ask(q);
    const m = r.choices[0].message;
    assert.ok(m.reasoning_content.length > 20, `steps in reasoning_content: ${JSON.stringify(m.reasoning_content)}`);
    assert.ok(!m.reasoning_content.includes('\\boxed'), 'the boxed answer is not in the thought');
    assert.ok(m.content.includes(`\\boxed{${want}}`), `${q}: ${JSON.stringify(m.content)}`);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.completion_tokens_details.reasoning_tokens > 5);
  }
});

test('a thinking budget of 0 gives a direct answer', async () => {
  const r = await ask('What is 12+30?', { max_thinking_tokens: 0 });
  const m = r.choices[0].message;
  assert.equal(m.reasoning_content, '');
  assert.match(m.content, /\\boxed\{\d+\}/);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 2);  // the forced "\n" and </think>
});

test('offered the calculator, a big product becomes an R1 tool call', async () => {
  const r = await c.chat.completions.create({ model: MODEL, temperature: 0, max_tokens: 300,
    messages: [{ role: 'user', content: 'What is 4821*7394?' }], tools: [calculator] });
  const text = r.choices[0].message.content;
  assert.ok(text.includes('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n```json\n'),
    JSON.stringify(text));
  const args = JSON.parse(text.split('```json\n')[1].split('\n```')[0]);
  assert.equal(args.expression.replace(/\s/g, ''), '4821*7394');
});
