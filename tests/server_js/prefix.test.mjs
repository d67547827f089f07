// Prefix caching: a second request sharing a ~2k-token prefix reuses its KV
// blocks (usage.prompt_tokens_details.cached_tokens, /metrics) and its time
// to first token drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, client, metrics, streamChat } from './common.mjs';

const c = client();

test('a shared 2k-token prefix is reused', async () => {
  const doc = Array.from({ length: 70 }, (_, i) => `line ${i}: the quick brown fox checks value ${i * 7}.`).join('\n');
  const system = { role: 'system', content: `You answer questions about this document.\n${doc}` };
  const ask = (q) => ({ model: MODEL, messages: [system, { role: 'user', content: q }], max_tokens: 8, seed: 1,
    reasoning_effort: 'none' });
  const before = await metrics();
  const first = await streamChat(c, ask('What is on line 3?'));
  const mid = await metrics();
  const second = await streamChat(c, ask('What is on line 200?'));
  const after = await metrics();
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached > 0.9 * (second.usage.prompt_tokens - 32), `cached ${cached} of ${second.usage.prompt_tokens}`);
  assert.equal(after.r1_prefix_cache_hit_tokens_total - mid.r1_prefix_cache_hit_tokens_total, cached);
  const computed1 = mid.r1_prompt_tokens_computed_total - before.r1_prompt_tokens_computed_total;
  const computed2 = after.r1_prompt_tokens_computed_total - mid.r1_prompt_tokens_computed_total;
  assert.ok(computed2 < computed1 / 5, `second prefill ${computed2} tokens vs ${computed1}`);
  console.log(`prefix cache: TTFT ${first.ttftMs.toFixed(1)} ms -> ${second.ttftMs.toFixed(1)} ms, ` +
    `prompt ${second.usage.prompt_tokens} tokens, ${cached} cached`);
  assert.ok(first.usage.prompt_tokens >= 2000, `a 2k-token prompt (${first.usage.prompt_tokens})`);
  // bench/serve measures the 25% target on the 1.5B model; here, on a tiny
  // model where HTTP and tokenizing weigh more, half is asked.
  assert.ok(second.ttftMs < 0.5 * first.ttftMs, 'TTFT drops with the prefix cached');

  // Multi-turn: the next turn resends the history, which is reused too.
  const turn1 = await c.chat.completions.create(ask('Summarise.'));
  const history = [system, { role: 'user', content: 'Summarise.' },
    { role: 'assistant', content: turn1.choices[0].message.content }, { role: 'user', content: 'More detail.' }];
  const turn2 = await c.chat.completions.create({ ...ask(''), messages: history });
  assert.ok(turn2.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens - 32);
});
