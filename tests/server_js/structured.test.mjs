// Structured output (response_format, grammar) and forced tool calls, checked
// with the openai client and the ajv JSON-Schema validator. R1_STRUCTURED
// picks the part, by the model the server runs:
//   random   a random-weight model: its text is noise, yet every constrained
//            output validates (10 schemas x 5 seeds), streamed chunks
//            concatenate to valid JSON, and bad constraints get 400s naming
//            the field;
//   r1-tiny  the trained r1-tiny: the thought stays free text, the answer
//            validates and holds the number the thought concluded;
//   distill  the trained r1-distill-tiny: tool_choice named and required
//            force a valid calculator call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { Ollama } from 'ollama';
import { BASE, KEY, MODEL, calculator, client } from './common.mjs';

const openai = client();
const ollama = new Ollama({ host: BASE, headers: { Authorization: `Bearer ${KEY}` } });
const ajv = new Ajv({ strict: false, logger: false });
// ajv checks no format by itself (that is the ajv-formats package): these two, here.
ajv.addFormat('date', /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
const mode = process.env.R1_STRUCTURED ?? 'random';

const schemas = [
  { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' } },
    required: ['name', 'age'], additionalProperties: false },
  { type: 'object', properties: { ok: { type: 'boolean' }, note: { type: ['string', 'null'], maxLength: 6 } },
    required: ['ok', 'note'], additionalProperties: false },
  { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 4 },
  { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, n: { const: 3 } },
    required: ['color', 'n'], additionalProperties: false },
  { type: 'object', properties: { when: { type: 'string', format: 'date' }, id: { type: 'string', format: 'uuid' } },
    required: ['when', 'id'], additionalProperties: false },
  { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{3}$' } },
    required: ['code'], additionalProperties: false },
  { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 5 }, { type: 'null' }] },
  { type: 'object', properties: { point: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } },
    required: ['x', 'y'], additionalProperties: false }, tags: { type: 'array', items: { type: 'string', maxLength: 4 },
    maxItems: 2 } }, required: ['point', 'tags'], additionalProperties: false },
  { $defs: { leaf: { type: 'object', properties: { v: { type: 'integer' } }, required: ['v'], additionalProperties: false } },
    type: 'object', properties: { a: { $ref: '#/$defs/leaf' }, b: { $ref: '#/$defs/leaf' } }, required: ['a'],
    additionalProperties: false },
  { type: 'object', properties: { first: { type: 'string', maxLength: 3 }, second: { type: 'boolean' },
    third: { type: 'integer' } }, required: ['third'], additionalProperties: false },
];

const format = (schema) => ({ type: 'json_schema', json_schema: { name: 'out', schema, strict: true } });

if (mode === 'random') {
  test('constrained output of a random-weight model always validates (10 schemas x 5 seeds)', async () => {
    for (const [i, schema] of schemas.entries()) {
      const validate = ajv.compile(schema);
      for (let seed = 0; seed < 5; ++seed) {
        const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `q${i} ${seed}` }],
          response_format: format(schema), seed, temperature: 1, max_tokens: 1500, reasoning_effort: 'none' });
        const c = r.choices[0];
        assert.equal(c.finish_reason, 'stop', `schema ${i} seed ${seed}: ${JSON.stringify(c.message)}`);
        const doc = JSON.parse(c.message.content);
        assert.ok(validate(doc), `schema ${i} seed ${seed}: ${c.message.content} ${JSON.stringify(validate.errors)}`);
      }
    }
  });

  test('json_object and a GBNF grammar', async () => {
    for (let seed = 0; seed < 3; ++seed) {
      const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_object' }, seed, temperature: 1, max_tokens: 1500, reasoning_effort: 'none' });
      if (r.choices[0].finish_reason !== 'stop') continue;  // any JSON is unbounded: a random model may run out of tokens
      const doc = JSON.parse(r.choices[0].message.content);
      assert.equal(typeof doc, 'object');
      assert.ok(!Array.isArray(doc) && doc !== null);
    }
    const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }],
      grammar: 'root ::= ("yes" | "no") " " [0-9]{2}', seed: 1, temperature: 1, max_tokens: 50, reasoning_effort: 'none' });
    assert.match(r.choices[0].message.content, /^(yes|no) [0-9]{2}$/);
  });

  test('streamed constrained chunks concatenate to valid JSON', async () => {
    const schema = schemas[7];
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 's' }],
      response_format: format(schema), seed: 3, temperature: 1, max_tokens: 1500, reasoning_effort: 'none', stream: true });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.equal(finish, 'stop');
    assert.ok(ajv.compile(schema)(JSON.parse(text)), text);
  });

  test('the other APIs: Ollama format and Responses text.format validate', async () => {
    for (const i of [0, 7, 8]) {
      const schema = schemas[i];
      const validate = ajv.compile(schema);
      for (let seed = 0; seed < 2; ++seed) {
        const o = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: `o${i} ${seed}` }], format: schema,
          think: false, stream: false, options: { seed, temperature: 1, num_predict: 1500 } });
        assert.equal(o.done_reason, 'stop', JSON.stringify(o.message));
        assert.ok(validate(JSON.parse(o.message.content)), `ollama schema ${i}: ${o.message.content}`);
        const r = await openai.responses.create({ model: MODEL, input: `r${i} ${seed}`, temperature: 1,
          max_output_tokens: 1500, reasoning: { effort: 'none' },
          text: { format: { type: 'json_schema', name: 'out', schema, strict: true } } });
        assert.equal(r.status, 'completed', JSON.stringify(r.output));
        assert.ok(validate(JSON.parse(r.output_text)), `responses schema ${i}: ${r.output_text}`);
      }
    }
    const o = await ollama.generate({ model: MODEL, prompt: 'j', format: 'json', think: false, stream: false,
      options: { seed: 4, temperature: 1, num_predict: 1500 } });
    if (o.done_reason === 'stop') assert.equal(typeof JSON.parse(o.response), 'object');
    await assert.rejects(ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: false,
      format: { type: 'integer', minimum: 3 } }), (e) => {
      assert.equal(e.status_code, 400);
      assert.match(e.error, /'format.*minimum/);
      return true;
    });
  });

  test('bad constraints are 400s that name the field', async () => {
    const cases = [
      [{ response_format: format({ type: 'integer', minimum: 3 }) }, 'response_format.json_schema.schema', 'minimum'],
      [{ response_format: format({ type: 'objekt' }) }, 'response_format.json_schema.schema', 'objekt'],
      [{ response_format: { type: 'xml' } }, 'response_format.type', 'json_schema'],
      [{ grammar: 'root ::= missing' }, 'grammar', "'missing'"],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { not: {} } } } } }],
        tool_choice: 'required' }, 'tools[0].function.parameters', 'not'],
      [{ tools: [calculator], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name', 'nope'],
    ];
    for (const [extra, param, says] of cases) {
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }],
        max_tokens: 5, ...extra }), (e) => {
        assert.equal(e.status, 400, JSON.stringify(extra));
        assert.equal(e.param, param, e.message);
        assert.ok(e.message.includes(says), e.message);
        return true;
      });
    }
  });
}

if (mode === 'r1-tiny') {
  test('r1-tiny: the thought is free, the answer validates and holds the thought\'s number', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'],
      additionalProperties: false };
    const validate = ajv.compile(schema);
    let agreed = 0;
    const n = 6;
    for (let k = 0; k < n; ++k) {
      const a = 100 + 37 * k, b = 200 + 11 * k;
      const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `What is ${a}+${b}?` }],
        response_format: format(schema), temperature: 0, max_tokens: 400 });
      const m = r.choices[0].message;
      assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(m));
      const doc = JSON.parse(m.content);
      assert.ok(validate(doc), m.content);
      assert.ok(m.reasoning_content.length > 0, 'the model thought');
      assert.throws(() => JSON.parse(m.reasoning_content), 'the thought is not JSON: it was not constrained');
      const concluded = [...m.reasoning_content.matchAll(/= (\d+)/g)].pop();
      if (concluded && Number(concluded[1]) === doc.answer) ++agreed;
    }
    // The model's own answer, carried into the JSON (r1-tiny's arithmetic is
    // often wrong, train/REPORT.md, and unconstrained its boxed answer often
    // differs from the thought too). Greedy: 2 of 6 today.
    assert.ok(agreed >= 2, `the JSON answer matched the thought's conclusion ${agreed}/${n} times`);
  });
}

if (mode === 'distill') {
  const messages = [{ role: 'user', content: 'Calculate 2440 × 7449' }];
  test('tool_choice named and required force a valid calculator call', async () => {
    const validate = ajv.compile(calculator.function.parameters);
    for (const tool_choice of ['required', { type: 'function', function: { name: 'calculator' } }]) {
      const r = await openai.chat.completions.create({ model: MODEL, messages, tools: [calculator], tool_choice,
        temperature: 0, max_tokens: 400 });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c.message));
      assert.equal(c.message.tool_calls.length, 1);
      assert.equal(c.message.tool_calls[0].function.name, 'calculator');
      assert.ok(validate(JSON.parse(c.message.tool_calls[0].function.arguments)), c.message.tool_calls[0].function.arguments);
    }
    // Forced even where the model would answer in text: the output is a
    // calculator call and nothing else (the tiny model has nothing to put in
    // its expression, so the string may run to max_tokens).
    const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Say hello.' }],
      tools: [calculator], tool_choice: 'required', temperature: 0, max_tokens: 200 });
    const m = r.choices[0].message;
    assert.equal(m.content, null, JSON.stringify(m));
    assert.equal(m.tool_calls.length, 1);
    assert.equal(m.tool_calls[0].function.name, 'calculator');
    assert.match(m.tool_calls[0].function.arguments, /^\{"expression": "/);
  });
}
