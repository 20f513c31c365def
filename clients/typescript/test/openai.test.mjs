// The official `openai` npm package against a live AURA (test/aura_server.py): an app built on the
// OpenAI SDK gets the user's memory by changing only its baseURL and apiKey.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";

import OpenAI from "openai";

import { createAuraClient } from "../dist/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const python = process.env.AURA_PYTHON ?? path.resolve(here, "../../../.venv/bin/python");
const MEMORY = "Enjoys hiking; prefers short answers.";
let server;
let aura;
let openai;

before(async () => {
  server = spawn(python, [path.join(here, "aura_server.py")], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await once(createInterface({ input: server.stdout }), "line");
  aura = JSON.parse(line);
  openai = new OpenAI({ baseURL: `${aura.url}/v1`, apiKey: aura.token, maxRetries: 0 });
  await createAuraClient({ baseUrl: aura.url, token: aura.token }).saveMemory(42, MEMORY);
});

after(() => {
  server.stdin.end();
  server.kill();
});

const sent = (completion) => JSON.parse(completion.choices[0].message.content);

describe("the openai npm package", () => {
  test("models lists the configured model", async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    assert.deepEqual(models, ["fake-model"]);
  });

  test("a completion carries the memory right after the caller's system prompt", async () => {
    const completion = await openai.chat.completions.create({
      model: "fake-model",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "[echo] plan my weekend" },
      ],
      user: "42",
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.usage.total_tokens, 17);
    assert.deepEqual(sent(completion), [
      { role: "system", content: "You are terse." },
      { role: "system", content: `User Memory: ${MEMORY}` },
      { role: "user", content: "[echo] plan my weekend" },
    ]);
  });

  test("a stream assembled from chunks, usage last", async () => {
    const stream = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "hi" }],
      user: "42",
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, "Hello from the fake model.");
    assert.equal(usage.total_tokens, 17);
  });

  test("memory off for a temporary chat", async () => {
    const completion = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "[echo] secret" }],
      user: "42",
      metadata: { aura_memory: "off" },
    });
    assert.deepEqual(sent(completion), [{ role: "user", content: "[echo] secret" }]);
  });

  test("a tool call comes back intact", async () => {
    const completion = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "[tool] weather in Oslo?" }],
      user: "42",
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    });
    assert.equal(completion.choices[0].finish_reason, "tool_calls");
    assert.equal(completion.choices[0].message.tool_calls[0].function.name, "get_weather");
  });

  test("a user token may not name another user: PermissionDeniedError", async () => {
    const mine = new OpenAI({ baseURL: `${aura.url}/v1`, apiKey: aura.jwt, maxRetries: 0 });
    const own = await mine.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "[echo]" }] });
    assert.equal(sent(own)[0].content, `User Memory: ${MEMORY}`); // the token's own user, 42
    await assert.rejects(
      mine.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "hi" }], user: "43" }),
      (error) => error instanceof OpenAI.PermissionDeniedError && error.status === 403,
    );
  });

  test("a bad key is an AuthenticationError", async () => {
    const stranger = new OpenAI({ baseURL: `${aura.url}/v1`, apiKey: "sk-nope", maxRetries: 0 });
    await assert.rejects(
      stranger.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "hi" }], user: "1" }),
      (error) => error instanceof OpenAI.AuthenticationError && error.code === "invalid_api_key",
    );
  });

  test("empty messages are a BadRequestError naming the field", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: "fake-model", messages: [], user: "1" }),
      (error) => error instanceof OpenAI.BadRequestError && error.param === "messages",
    );
  });

  test("an unknown model is a NotFoundError", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: "gpt-9", messages: [{ role: "user", content: "hi" }], user: "1" }),
      (error) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
  });

  test("a failure mid-stream is thrown while iterating", async () => {
    const stream = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "[cut]" }],
      user: "42",
      stream: true,
    });
    const tokens = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) tokens.push(chunk.choices[0].delta.content);
      })(),
      (error) => error instanceof OpenAI.APIError && /before the reply was complete/.test(error.message),
    );
    assert.deepEqual(tokens, ["Hello"]);
  });
});
