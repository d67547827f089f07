#!/usr/bin/env node
// Serving benchmark for `r1 serve`: aggregate decode tokens/s at several
// concurrency levels, and time-to-first-token percentiles. No dependencies
// (Node 18+ fetch); run.sh starts the server for you.
//
//   node bench/serve/bench.mjs --base http://127.0.0.1:8080 --concurrency 1,4,8,16 --tokens 64
//
// Each stream sends its own prompt and generates --tokens tokens. The
// decode figure is steady state: tokens that arrived while every stream was
// decoding, over that window (prefill of late joiners excluded); TTFT is
// from sending the request to its first token, queueing and prefill included.
//
//   node bench/serve/bench.mjs --base ... --prefix-words 580 --rounds 5
//
// instead measures the prefix cache: each round sends a fresh long document
// (a cold prefill), then the same document with another question (its
// blocks reused), and reports TTFT p50 of both and warm/cold. On the
// synthetic models' vocabulary 580 words are about 2k tokens.
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const base = args.base ?? 'http://127.0.0.1:8080';
const key = args.key ?? '';
const levels = (args.concurrency ?? '1,4,8,16').split(',').map(Number);
const tokens = Number(args.tokens ?? 64);
const promptWords = Number(args['prompt-words'] ?? 32);
const rounds = Number(args.rounds ?? 1);

function prompt(i) {
  const w = ['alpha', 'beta', 'gamma', 'delta', 'value', 'check', 'answer', 'think', 'world', 'fox'];
  return `Request ${i}: ` + Array.from({ length: promptWords }, (_, j) => w[(i * 7 + j * 3) % w.length]).join(' ');
}

// One streaming /v1/completions request; records when each token arrived
// (logprobs: 0 makes every chunk list its tokens, so counts are exact).
async function stream(i) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ prompt: prompt(i), max_tokens: tokens, stream: true, logprobs: 0,
      stream_options: { include_usage: true }, temperature: 0.7, seed: i }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const times = [];  // arrival time of each token
  let usage = null, buf = '';
  const dec = new TextDecoder();
  for await (const part of r.body) {
    buf += dec.decode(part, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.usage) usage = j.usage;
      const n = j.choices?.[0]?.logprobs?.tokens?.length ?? 0;
      const now = performance.now();
      for (let t = 0; t < n; ++t) times.push(now);
    }
  }
  return { t0, first: times[0], end: performance.now(), times, n: usage?.completion_tokens ?? times.length };
}

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

// Prefix-cache mode: TTFT with a cold vs a warm shared prefix.
async function ttftOnce(text) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ prompt: text, max_tokens: 2, stream: true, temperature: 0, logprobs: 0,
      stream_options: { include_usage: true } }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  let first = null, usage = null, buf = '';
  const dec = new TextDecoder();
  for await (const part of r.body) {
    buf += dec.decode(part, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.usage) usage = j.usage;
      if (first === null && (j.choices?.[0]?.logprobs?.tokens?.length ?? 0) > 0) first = performance.now() - t0;
    }
  }
  return { ttft: first, prompt: usage?.prompt_tokens ?? 0, cached: usage?.prompt_tokens_details?.cached_tokens ?? 0 };
}

if (args['prefix-words']) {
  const words = Number(args['prefix-words']);
  const w = ['alpha', 'beta', 'gamma', 'delta', 'value', 'check', 'answer', 'think', 'world', 'fox', 'line', 'seven'];
  const cold = [], warm = [];
  let info = null;
  for (let r = 0; r < rounds; ++r) {
    // A new document each round, different from its first token: nothing of it is cached.
    const salt = `${Math.random().toString(36).slice(2, 10)} ${r}`;
    const doc = `${salt} document.\n` + Array.from({ length: words }, (_, j) => w[(j * 7 + (j >> 3) + r) % w.length] +
      (j % 12 === 11 ? '.\n' : '')).join(' ');
    const c = await ttftOnce(`${doc}\nQuestion: what is the first word?\nAnswer:`);
    const h = await ttftOnce(`${doc}\nQuestion: what is the last word?\nAnswer:`);
    cold.push(c.ttft);
    warm.push(h.ttft);
    info = { prompt: h.prompt, cached: h.cached, cold_cached: c.cached };
    console.log(`round ${r}: prompt ${h.prompt} tokens, cold TTFT ${c.ttft.toFixed(0)} ms (cached ${c.cached}), ` +
      `warm ${h.ttft.toFixed(0)} ms (cached ${h.cached})`);
  }
  const row = { prompt_tokens: info.prompt, cached_tokens: info.cached, cold_ttft_p50_ms: pct(cold, 0.5),
    warm_ttft_p50_ms: pct(warm, 0.5) };
  row.warm_over_cold = row.warm_ttft_p50_ms / row.cold_ttft_p50_ms;
  console.log(`prefix cache: ${row.prompt_tokens}-token prompt, ${row.cached_tokens} cached: TTFT p50 cold ` +
    `${row.cold_ttft_p50_ms.toFixed(0)} ms, warm ${row.warm_ttft_p50_ms.toFixed(0)} ms ` +
    `(warm/cold ${(100 * row.warm_over_cold).toFixed(1)}%, target <= 25%)`);
  if (args.json) (await import('node:fs')).writeFileSync(args.json, JSON.stringify(row, null, 2));
  process.exit(0);
}

const results = [];
let id = 0;
for (const c of levels) {
  const all = [];
  let wall = 0, decodeTokens = 0, decodeTime = 0;
  for (let r = 0; r < rounds; ++r) {
    const start = performance.now();
    const res = await Promise.all(Array.from({ length: c }, () => stream(id++)));
    const end = performance.now();
    wall += end - start;
    all.push(...res);
    // Steady-state decode: tokens that arrived while every stream was
    // decoding (after the last first token, before the first stream ended).
    const from = Math.max(...res.map((x) => x.first));
    const to = Math.min(...res.map((x) => x.end));
    decodeTokens += res.reduce((a, x) => a + x.times.filter((t) => t > from && t <= to).length, 0);
    decodeTime += to - from;
  }
  const ttft = all.map((x) => x.first - x.t0);
  const row = {
    concurrency: c,
    tokens: all.reduce((a, x) => a + x.n, 0),
    decode_tok_s: (decodeTokens / (decodeTime / 1000)),
    e2e_tok_s: all.reduce((a, x) => a + x.n, 0) / (wall / 1000),
    ttft_p50_ms: pct(ttft, 0.5),
    ttft_p99_ms: pct(ttft, 0.99),
  };
  results.push(row);
  console.log(`concurrency ${String(c).padStart(2)}: decode ${row.decode_tok_s.toFixed(1)} tok/s aggregate ` +
    `(${(row.decode_tok_s / c).toFixed(1)} per stream), end-to-end ${row.e2e_tok_s.toFixed(1)} tok/s, ` +
    `TTFT p50 ${row.ttft_p50_ms.toFixed(0)} ms p99 ${row.ttft_p99_ms.toFixed(0)} ms`);
}
const one = results.find((r) => r.concurrency === 1);
const eight = results.find((r) => r.concurrency === 8);
if (one && eight) console.log(`8 streams / 1 stream aggregate decode: ${(eight.decode_tok_s / one.decode_tok_s).toFixed(2)}x`);
if (args.json) (await import('node:fs')).writeFileSync(args.json, JSON.stringify(results, null, 2));
