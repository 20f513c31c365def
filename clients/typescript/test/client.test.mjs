// The client against a real AURA (SQLite, loopback model) started by test/aura_server.py.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  AuraAbortError,
  AuraError,
  AuraNetworkError,
  configureAura,
  createAuraClient,
  getMemory,
  saveMemory,
} from "../dist/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const python = process.env.AURA_PYTHON ?? path.resolve(here, "../../../.venv/bin/python");
let server;
let aura;
let service;

before(async () => {
  server = spawn(python, [path.join(here, "aura_server.py")], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await once(createInterface({ input: server.stdout }), "line");
  aura = JSON.parse(line);
  service = createAuraClient({ baseUrl: aura.url, token: aura.token });
});

after(() => {
  server.stdin.end();
  server.kill();
});

let nextUser = 1000;
const newUser = () => nextUser++;

describe("memory", () => {
  test("save, read, and null for a user without one", async () => {
    const user = newUser();
    assert.equal(await service.getMemory(user), null);
    const saved = await service.saveMemory(user, "Likes hiking.");
    assert.equal(saved.content, "Likes hiking.");
    assert.equal(saved.version, 1);
    assert.deepEqual(await service.getMemory(String(user)), saved);
  });

  test("a stale ifMatch is a 412 AuraError with the current version", async () => {
    const user = newUser();
    const first = await service.saveMemory(user, "v1");
    await service.saveMemory(user, "v2 from another tab", { ifMatch: first.version });
    await assert.rejects(service.saveMemory(user, "v2 from this tab", { ifMatch: first.version }), (error) => {
      assert.ok(error instanceof AuraError);
      assert.equal(error.status, 412);
      assert.equal(error.code, "version_conflict");
      assert.equal(error.currentVersion, 2);
      return true;
    });
    assert.equal((await service.getMemory(user)).content, "v2 from another tab");
  });

  test("revisions, restore, export, settings and delete", async () => {
    const user = newUser();
    await service.saveMemory(user, "one");
    await service.saveMemory(user, "two");
    const { revisions, pagination } = await service.listRevisions(user, { perPage: 1 });
    assert.equal(pagination.total, 2);
    assert.equal(revisions[0].content, "two");
    const older = (await service.listRevisions(user)).revisions[1];
    const restored = await service.restoreRevision(user, older.id, { ifMatch: '"2"' });
    assert.equal(restored.content, "one");
    const exported = await service.exportMemory(user);
    assert.deepEqual(exported.revisions.map((r) => r.content), ["one", "two", "one"]);
    assert.deepEqual(await service.setSettings(user, { enabled: false }), { enabled: false, consolidation: "default" });
    assert.deepEqual(await service.getSettings(user), { enabled: false, consolidation: "default" });
    await assert.rejects(service.saveMemory(user, "refused"), { name: "AuraError", status: 409, code: "memory_disabled" });
    assert.equal(await service.deleteMemory(user), true);
    assert.equal(await service.deleteMemory(user), false);
  });

  test("a user token acts for its own user only", async () => {
    const asUser = createAuraClient({ baseUrl: aura.url, getToken: async () => aura.jwt });
    await asUser.saveMemory(42, "Mine.");
    assert.equal((await asUser.getMemory(42)).content, "Mine.");
    await assert.rejects(asUser.getMemory(43), { name: "AuraError", status: 403, code: "forbidden" });
  });
});

describe("errors", () => {
  test("validation failures carry the field map", async () => {
    await assert.rejects(service.saveMemory(newUser(), "   "), (error) => {
      assert.equal(error.status, 422);
      assert.equal(error.code, "validation_failed");
      assert.ok("content" in error.errors);
      return true;
    });
  });

  test("a bad token is 401", async () => {
    const stranger = createAuraClient({ baseUrl: aura.url, token: "not-a-token" });
    await assert.rejects(stranger.getMemory(1), { name: "AuraError", status: 401, code: "unauthorized" });
  });

  test("429 carries retryAfter", async () => {
    const user = newUser();
    const messages = [{ role: "user", content: "I like tea" }];
    for (let i = 0; i < 3; i++) await service.consolidate(user, messages, { preview: true });
    await assert.rejects(service.consolidate(user, messages, { preview: true }), (error) => {
      assert.equal(error.status, 429);
      assert.equal(error.code, "rate_limited");
      assert.ok(error.retryAfter > 0);
      return true;
    });
  });

  test("an unreachable server is an AuraNetworkError, not an AuraError", async () => {
    const nowhere = createAuraClient({ baseUrl: "http://127.0.0.1:9", token: "x" });
    await assert.rejects(nowhere.getMemory(1), (error) => error instanceof AuraNetworkError);
  });

  test("an aborted call is an AuraAbortError", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(service.getMemory(1, { signal: controller.signal }), (error) => error instanceof AuraAbortError);
  });
});

describe("chat", () => {
  test("a whole reply", async () => {
    const reply = await service.chat({ userId: newUser(), message: "Hi", history: [{ role: "user", content: "Hello" }] });
    assert.equal(reply.reply, "Hello from the fake model.");
    assert.equal(reply.memory_used, false);
  });

  test("a stream read to the end: tokens, then the done event as return value and final", async () => {
    const user = newUser();
    await service.saveMemory(user, "Likes cats.");
    const stream = service.chatStream({ userId: user, message: "Hi" });
    const tokens = [];
    let result;
    for (;;) {
      const step = await stream.next();
      if (step.done) {
        result = step.value;
        break;
      }
      tokens.push(step.value);
    }
    assert.deepEqual(tokens, ["Hello", " from", " the", " fake", " model."]);
    assert.equal(result.reply, "Hello from the fake model.");
    assert.equal(result.memory_used, true);
    assert.deepEqual(await stream.final, result);
  });

  test("for await with final", async () => {
    const stream = service.chatStream({ userId: newUser(), message: "Hi" });
    let text = "";
    for await (const token of stream) text += token;
    assert.equal(text, (await stream.final).reply);
  });

  test("a stream aborted midway is an AuraAbortError", async () => {
    const controller = new AbortController();
    const stream = service.chatStream({ userId: newUser(), message: "[slow] tell me" }, { signal: controller.signal });
    const first = await stream.next();
    assert.equal(first.value, "first");
    controller.abort();
    await assert.rejects(stream.next(), (error) => error instanceof AuraAbortError);
    await assert.rejects(stream.final, (error) => error instanceof AuraAbortError);
  });

  test("a failure before the stream is an AuraError", async () => {
    await assert.rejects(async () => {
      for await (const _ of service.chatStream({ userId: newUser(), message: "   " })) {
        // never reached
      }
    }, { name: "AuraError", status: 422 });
  });
});

describe("consolidation, conversations, proposals", () => {
  test("consolidate a conversation and preview one", async () => {
    const user = newUser();
    const said = [{ role: "user", content: "I drink tea every morning" }];
    const preview = await service.consolidate(user, said, { preview: true });
    assert.equal(preview.preview, true);
    assert.equal(preview.proposed.content, "Drinks tea every morning.");
    const result = await service.consolidate(user, said, { conversationId: "c-1" });
    assert.equal(result.changed, true);
    assert.equal(result.memory.content, "Drinks tea every morning.");
  });

  test("proposals in review mode: accept, and reject", async () => {
    const user = newUser();
    await service.saveMemory(user, "Likes tea and biscuits and long walks by the sea.");
    await service.setSettings(user, { consolidation: "review" });
    const held = await service.consolidate(user, [{ role: "user", content: "I drink tea every morning" }]);
    assert.equal(held.held_for_review, "review");
    const pending = await service.getProposal(user);
    assert.equal(pending.id, held.proposal.id);
    const memory = await service.acceptProposal(user, { proposalId: pending.id });
    assert.equal(memory.content, "Likes tea and biscuits and long walks by the sea.\nDrinks tea every morning.");
    assert.equal(await service.getProposal(user), null);
    await assert.rejects(service.rejectProposal(user), { name: "AuraError", status: 404, code: "no_proposal" });
  });

  test("conversations list and forget", async () => {
    const user = newUser();
    const { turns, pagination } = await service.listConversations(user);
    assert.deepEqual(turns, []);
    assert.equal(pagination.total, 0);
    assert.equal(await service.deleteConversations(user), 0);
  });
});

describe("drop-in functions with the frontend's signatures", () => {
  test("saveMemory(userId, content) and getMemory(userId)", async () => {
    configureAura({ baseUrl: aura.url, getToken: () => aura.token });
    const user = newUser();
    assert.equal(await getMemory(user), null);
    await saveMemory(user, "Enjoys jazz.");
    assert.equal((await getMemory(user)).content, "Enjoys jazz.");
  });
});
