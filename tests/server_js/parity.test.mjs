// One pipeline: `r1 run` and `r1 serve` are clients of the same scheduler, so
// the same model, prompt, seed and sampling give the same tokens, and the
// thinking budget closes the thought the same way in both.
// R1_BIN and R1_MODEL_PATH come from src/server/server_e2e_test.cc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MODEL, client, prompt } from './common.mjs';

const c = client();
const BIN = process.env.R1_BIN;
const PATH = process.env.R1_MODEL_PATH;

function cliRun(text, args) {
  const out = execFileSync(BIN, ['run', '-m', PATH, '-p', text, '--json', '-t', '2', ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop());
}

for (const [name, cli, api] of [
  ['sampled', ['--seed', '7', '--temp', '0.8', '--top-p', '0.9', '-n', '24'],
    { seed: 7, temperature: 0.8, top_p: 0.9, max_tokens: 24 }],
  ['greedy', ['--temp', '0', '-n', '16'], { temperature: 0, max_tokens: 16 }],
  ['budget 4', ['--seed', '3', '--temp', '0.9', '-n', '70', '--max-thinking-tokens', '4'],
    { seed: 3, temperature: 0.9, max_tokens: 70, max_thinking_tokens: 4 }],
  ['budget 0', ['--seed', '5', '--temp', '0.9', '-n', '12', '--max-thinking-tokens', '0'],
    { seed: 5, temperature: 0.9, max_tokens: 12, max_thinking_tokens: 0 }],
]) {
  test(`r1 run and r1 serve agree: ${name}`, async () => {
    const text = prompt(40 + name.length);
    const local = cliRun(text, cli);
    const r = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: text }], ...api });
    const m = r.choices[0].message;
    assert.equal(local.reasoning_content, m.reasoning_content);
    assert.equal(local.content, m.content);
    assert.equal(local.finish_reason, r.choices[0].finish_reason);
    assert.equal(local.completion_tokens, r.usage.completion_tokens);
    assert.equal(local.reasoning_tokens, r.usage.completion_tokens_details.reasoning_tokens);
    if (name === 'budget 4')
      assert.ok(local.reasoning_content.trimEnd().endsWith('time to write the answer.'), local.reasoning_content);
    if (name === 'budget 0') assert.equal(local.reasoning_content, '');
  });
}
