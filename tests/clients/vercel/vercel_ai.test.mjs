// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) against the proxy: `openai(model)` (the
// Responses API) and `openai.chat(model)` (chat completions), each with a plain
// generateText, a streamText and a two-step tool loop.
//
// * PROXY_URL: the proxy in front of the recorded stand-in (examples/stand_in.rs); expected
//   values come from the recorded fixtures it serves.
// * DEMO_PROXY_URL: `llm-tower --demo`, whose stand-in answers from the request: the prompt
//   echoed, the tool called with arguments made from its schema, structured output made
//   from its schema, the text streamed in several pieces.
//
// Run through tests/clients/run.sh, which starts the servers, installs the pinned packages
// (`npm ci`) and sets PROXY_URL, DEMO_PROXY_URL and FIXTURES_DIR:
//
//   node --test tests/clients/vercel/vercel_ai.test.mjs

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';

const PROXY_URL = process.env.PROXY_URL ?? 'http://127.0.0.1:4000';
const DEMO_PROXY_URL = process.env.DEMO_PROXY_URL;
const FIXTURES_DIR = process.env.FIXTURES_DIR;
assert.ok(FIXTURES_DIR, 'FIXTURES_DIR names tests/fixtures/gemini');
assert.ok(DEMO_PROXY_URL, 'DEMO_PROXY_URL names the proxy started with --demo');
const MASTER_KEY = 'sk-test-1234';
const MODEL = 'gemini-flash';

function fixtureResponse(number, exchange = 0) {
  const name = readdirSync(FIXTURES_DIR).find((file) => file.startsWith(`${number}-`));
  assert.ok(name, `fixture ${number}`);
  const file = JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8'));
  return file.exchanges[exchange].response;
}

const visibleText = (candidate) =>
  candidate.content.parts
    .filter((part) => !part.thought)
    .map((part) => part.text ?? '')
    .join('');

const TEXT_REPLY = fixtureResponse('01').body;
const TEXT = visibleText(TEXT_REPLY.candidates[0]);
const USAGE = TEXT_REPLY.usageMetadata;
const TOOL_CALL = fixtureResponse('29', 0)
  .body.candidates[0].content.parts.find((part) => part.functionCall).functionCall;
const AFTER_TOOL_TEXT = visibleText(fixtureResponse('29', 1).body.candidates[0]);
const STREAM_PIECES = fixtureResponse('18')
  .sse.split('\r\n\r\n')
  .filter((event) => event.startsWith('data: '))
  .flatMap((event) => JSON.parse(event.slice('data: '.length)).candidates ?? [])
  .map(visibleText)
  .filter((text) => text !== '');

/** The provider, recording every request body it sends and every JSON reply. */
function provider(proxyUrl = PROXY_URL) {
  const sent = [];
  const openai = createOpenAI({
    baseURL: `${proxyUrl}/v1`,
    apiKey: MASTER_KEY,
    fetch: async (url, init) => {
      const exchange = { url: String(url), body: JSON.parse(init.body), reply: undefined };
      sent.push(exchange);
      const response = await fetch(url, init);
      if (response.headers.get('content-type')?.startsWith('application/json')) {
        exchange.reply = await response.clone().json();
      }
      return response;
    },
  });
  return { openai, sent };
}

/** The tool the stand-in calls (its recorded call is fixture 29's), and what it was given. */
function weatherTool() {
  const calls = [];
  const getWeather = tool({
    description: 'Get the current weather for a city.',
    inputSchema: jsonSchema({
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' } },
      required: ['city'],
      additionalProperties: false,
    }),
    execute: async (input) => {
      calls.push(input);
      return { city: input.city, forecast: 'rain', celsius: 14 };
    },
  });
  return { tools: { [TOOL_CALL.name]: getWeather }, calls };
}

const APIS = [
  { name: 'openai() (Responses API)', model: (openai) => openai(MODEL), path: '/v1/responses' },
  {
    name: 'openai.chat() (chat completions)',
    model: (openai) => openai.chat(MODEL),
    path: '/v1/chat/completions',
  },
];

for (const api of APIS) {
  describe(api.name, () => {
    test('generateText', async () => {
      const { openai, sent } = provider();
      const result = await generateText({ model: api.model(openai), prompt: 'What is Rust?' });
      assert.equal(result.text, TEXT);
      assert.equal(result.finishReason, 'stop');
      assert.equal(result.usage.inputTokens, USAGE.promptTokenCount);
      assert.equal(
        result.usage.outputTokens,
        USAGE.candidatesTokenCount + USAGE.thoughtsTokenCount,
      );
      assert.equal(result.usage.totalTokens, USAGE.totalTokenCount);
      assert.equal(sent.length, 1);
      assert.equal(new URL(sent[0].url).pathname, api.path);
    });

    test('streamText', async () => {
      const { openai } = provider();
      const result = streamText({ model: api.model(openai), prompt: 'What is a solar eclipse?' });
      const pieces = [];
      for await (const piece of result.textStream) {
        pieces.push(piece);
      }
      // Several pieces, in order, adding up to the recorded stream's text.
      assert.ok(pieces.length >= STREAM_PIECES.length - 1, `pieces: ${JSON.stringify(pieces)}`);
      assert.equal(pieces.join(''), STREAM_PIECES.join(''));
      assert.equal(await result.finishReason, 'stop');
      assert.ok((await result.usage).totalTokens > 0);
    });

    test('a tool loop sends the tool result back and gets the answer', async () => {
      const { openai, sent } = provider();
      const { tools, calls } = weatherTool();
      const result = await generateText({
        model: api.model(openai),
        prompt: 'Umbrella or sunscreen in Tokyo today?',
        tools,
        stopWhen: stepCountIs(3),
      });
      assert.equal(result.steps.length, 2);
      const [call] = result.steps[0].toolCalls;
      assert.equal(call.toolName, TOOL_CALL.name);
      assert.deepEqual(call.input, TOOL_CALL.args);
      assert.deepEqual(calls, [TOOL_CALL.args]);
      assert.equal(result.steps[0].finishReason, 'tool-calls');
      assert.equal(result.text, AFTER_TOOL_TEXT);
      assert.equal(result.finishReason, 'stop');

      assert.equal(sent.length, 2);
      const second = sent[1].body;
      if (api.path === '/v1/responses') {
        // Step 2 names the proxy's own output items (the reasoning item) by id instead of
        // repeating them; the proxy resolves them from its response store.
        const references = second.input.filter((item) => item.type === 'item_reference');
        const stored = new Set(sent[0].reply.output.map((item) => item.id));
        assert.ok(references.length > 0, `an item_reference in ${JSON.stringify(second.input)}`);
        for (const reference of references) {
          assert.ok(stored.has(reference.id), `${reference.id} is an output item of step 1`);
        }
        const called = sent[0].reply.output.find((item) => item.type === 'function_call');
        assert.equal(called.call_id, call.toolCallId);
        const output = second.input.find((item) => item.type === 'function_call_output');
        assert.equal(output.call_id, call.toolCallId);
        assert.deepEqual(JSON.parse(output.output), {
          city: TOOL_CALL.args.city,
          forecast: 'rain',
          celsius: 14,
        });
      } else {
        const toolMessage = second.messages.find((message) => message.role === 'tool');
        assert.equal(toolMessage.tool_call_id, call.toolCallId);
        const assistant = second.messages.find((message) => message.role === 'assistant');
        assert.equal(assistant.tool_calls[0].function.name, TOOL_CALL.name);
      }
    });
  });
}

/** A tool with a schema to fill; what it was given. */
function bookingTool() {
  const calls = [];
  const schema = {
    type: 'object',
    properties: {
      restaurant: { type: 'string', minLength: 3 },
      guests: { type: 'integer', minimum: 2, maximum: 8 },
      time: { type: 'string', enum: ['19:30', '21:00'] },
      outdoor: { type: 'boolean' },
    },
    required: ['restaurant', 'guests', 'time'],
    additionalProperties: false,
  };
  const bookTable = tool({
    description: 'Book a table.',
    inputSchema: jsonSchema(schema),
    execute: async (input) => {
      calls.push(input);
      return { booked: true, reference: 'B-17' };
    },
  });
  return { tools: { book_table: bookTable }, calls };
}

for (const api of APIS) {
  describe(`${api.name} against --demo`, () => {
    test('generateText gets the prompt back', async () => {
      const { openai } = provider(DEMO_PROXY_URL);
      const prompt = 'Hello from the Vercel AI SDK';
      const result = await generateText({ model: api.model(openai), prompt });
      assert.equal(result.text, prompt);
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.usage.outputTokens > 0);
    });

    test('streamText gets the prompt back in several pieces', async () => {
      const { openai } = provider(DEMO_PROXY_URL);
      const prompt = 'One, two, three, four, five, six, seven, eight, nine and ten.';
      const result = streamText({ model: api.model(openai), prompt });
      const pieces = [];
      for await (const piece of result.textStream) {
        pieces.push(piece);
      }
      assert.ok(pieces.length >= 4, `pieces: ${JSON.stringify(pieces)}`);
      assert.equal(pieces.join(''), prompt);
      assert.equal(await result.finishReason, 'stop');
    });

    test('a tool loop: arguments valid for the schema, the result answered', async () => {
      const { openai } = provider(DEMO_PROXY_URL);
      const { tools, calls } = bookingTool();
      const result = await generateText({
        model: api.model(openai),
        prompt: 'A table for tonight, please.',
        tools,
        stopWhen: stepCountIs(3),
      });
      assert.equal(result.steps.length, 2);
      assert.equal(calls.length, 1);
      const [input] = calls;
      assert.deepEqual(Object.keys(input).sort(), ['guests', 'restaurant', 'time']);
      assert.ok(typeof input.restaurant === 'string' && input.restaurant.length >= 3);
      assert.ok(Number.isInteger(input.guests) && input.guests >= 2 && input.guests <= 8);
      assert.ok(['19:30', '21:00'].includes(input.time));
      assert.match(result.text, /book_table answered/);
      assert.match(result.text, /B-17/);
    });

    test('structured output is valid for its schema', async () => {
      const { openai } = provider(DEMO_PROXY_URL);
      const result = await generateText({
        model: api.model(openai),
        prompt: 'A city, please.',
        output: Output.object({
          schema: jsonSchema({
            type: 'object',
            properties: {
              name: { type: 'string' },
              population: { type: 'integer', minimum: 1000 },
              capital: { type: 'boolean' },
              tags: { type: 'array', items: { type: 'string', enum: ['port', 'old'] } },
            },
            required: ['name', 'population', 'capital', 'tags'],
            additionalProperties: false,
          }),
        }),
      });
      const city = result.output;
      assert.equal(typeof city.name, 'string');
      assert.ok(Number.isInteger(city.population) && city.population >= 1000);
      assert.equal(typeof city.capital, 'boolean');
      assert.ok(city.tags.length >= 1 && city.tags.every((tag) => ['port', 'old'].includes(tag)));
    });
  });
}
