// Shared helpers: the server under test comes from the environment
// (R1_BASE_URL, R1_API_KEY), set by src/server/server_e2e_test.cc.
import OpenAI from 'openai';

export const BASE = process.env.R1_BASE_URL ?? 'http://127.0.0.1:8080';
export const KEY = process.env.R1_API_KEY ?? 'test-key';
export const MODEL = process.env.R1_MODEL ?? 'model';

// The calculator tool the trained models learnt to call (train/gen_tasks.py).
export const calculator = {
  type: 'function',
  function: {
    name: 'calculator',
    description: 'Evaluate an arithmetic expression and return the result.',
    parameters: { type: 'object', properties: { expression: { type: 'string', description: 'An arithmetic expression, e.g. 2*3' } },
      required: ['expression'] },
  },
};

export function client(opts = {}) {
  return new OpenAI({ baseURL: `${BASE}/v1`, apiKey: KEY, maxRetries: 0, timeout: 120_000, ...opts });
}

// A user prompt of roughly `words` words, different for each `salt`.
export function prompt(salt, words = 8) {
  const vocab = ['the', 'quick', 'brown', 'fox', 'answer', 'value', 'think', 'step', 'check', 'world', 'hello',
    'result', 'first', 'then', 'lazy', 'dog'];
  const out = [];
  for (let i = 0; i < words; ++i) out.push(vocab[(i * 7 + salt * 13 + ((salt * i) % 5)) % vocab.length]);
  return `Question ${salt}: ${out.join(' ')}?`;
}

// Runs a streaming chat request; returns reasoning, content, finish, usage.
export async function streamChat(c, body, { abortAfter } = {}) {
  const controller = new AbortController();
  const stream = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } },
    { signal: controller.signal });
  let reasoning = '', content = '', finish = null, usage = null, chunks = 0, first = null;
  const t0 = performance.now();
  try {
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        const d = ch.delta ?? {};
        if (d.reasoning_content) reasoning += d.reasoning_content;
        if (d.content) content += d.content;
        if ((d.reasoning_content || d.content) && first === null) first = performance.now() - t0;
        if (ch.finish_reason) finish = ch.finish_reason;
      }
      if (abortAfter !== undefined && ++chunks >= abortAfter) {
        controller.abort();
        break;
      }
    }
  } catch (e) {
    if (abortAfter === undefined) throw e;
  }
  return { reasoning, content, finish, usage, ttftMs: first };
}

export async function metrics() {
  const r = await fetch(`${BASE}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } });
  const text = await r.text();
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return m;
}

export async function waitFor(pred, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// No sequence holds KV blocks: everything in use belongs to the prefix cache alone.
export async function kvIdle() {
  return waitFor(async () => {
    const m = await metrics();
    return m.r1_kv_sequences === 0 && m.r1_active_sequences === 0 && m.r1_kv_blocks_used === m.r1_kv_blocks_evictable
      ? m : null;
  });
}
