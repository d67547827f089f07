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
