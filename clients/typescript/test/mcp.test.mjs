// The official MCP TypeScript SDK against a live AURA (test/aura_server.py): an agent adds AURA's
// /mcp URL with a service token and the user's id in X-Aura-User, and reads and writes that memory.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const python = process.env.AURA_PYTHON ?? path.resolve(here, "../../../.venv/bin/python");
let server;
let aura;

before(async () => {
  server = spawn(python, [path.join(here, "aura_server.py")], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await once(createInterface({ input: server.stdout }), "line");
  aura = JSON.parse(line);
});

after(() => {
  server.stdin.end();
  server.kill();
});

async function connect(headers) {
  const client = new Client({ name: "aura-tests", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${aura.url}/mcp`), { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

describe("the MCP TypeScript SDK", () => {
  test("connects, lists the tools, remembers a fact and reads it back", async () => {
    const client = await connect({ Authorization: `Bearer ${aura.token}`, "X-Aura-User": "314" });
    try {
      assert.equal(client.getServerVersion().name, "aura");
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), ["get_memory", "memory_history", "remember", "update_memory"]);
      assert.equal(tools.find((tool) => tool.name === "get_memory").annotations.readOnlyHint, true);

      const remembered = await client.callTool({ name: "remember", arguments: { fact: "Drinks tea every morning." } });
      assert.equal(remembered.isError, false);
      assert.equal(remembered.structuredContent.status, "added");

      const read = await client.callTool({ name: "get_memory", arguments: {} });
      assert.equal(read.structuredContent.memory.content, "Drinks tea every morning.");
      assert.equal(read.structuredContent.memory.version, 1);
    } finally {
      await client.close();
    }
  });

  test("a user token needs no header and reaches only its own user", async () => {
    const client = await connect({ Authorization: `Bearer ${aura.jwt}` });
    try {
      const read = await client.callTool({ name: "get_memory", arguments: {} });
      assert.equal(read.isError, false);
    } finally {
      await client.close();
    }
    await assert.rejects(connect({ Authorization: `Bearer ${aura.jwt}`, "X-Aura-User": "1" }), /403|own user/);
  });
});
