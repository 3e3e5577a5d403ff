// What only the Netlify adapters do: Context facts, Lambda events in their other shapes, and
// the text-or-base64 choice for Lambda responses.
import type { HandlerEvent } from "@netlify/functions";
import { describe, expect, it } from "vitest";
import { handle, handleLambda } from "../../src/adapters/netlify/index.js";
import type { Responder, ServeRequest, WasiHandler } from "../../src/index.js";
import { fixture, logged, open } from "../support.js";

const echo = open({ wasm: fixture("echo", "persistent"), mode: "persistent", poolSize: 1 });

interface Seen {
  method: string;
  path: string;
  rawQuery: string;
  host: string;
  tls: boolean;
  remoteAddr: string;
  body?: string;
  headers: Record<string, string[]>;
}

/** A handler that answers with fixed headers and bytes, to test the Lambda encoding alone. */
function fixed(headers: [string, string][], body: Uint8Array): WasiHandler {
  return {
    serve(_request: ServeRequest, responder: Responder) {
      responder.head(200, "OK", headers);
      responder.data(body, () => {});
      responder.end();
      return () => {};
    },
    fetch: () => Promise.reject(new Error("not used")),
    ready: async () => {},
    close: async () => {},
    logFailure: () => {},
  };
}

const event = (fields: Partial<HandlerEvent>): HandlerEvent => ({
  rawUrl: "https://site.example.test/api/echo",
  rawQuery: "",
  path: "/api/echo",
  httpMethod: "GET",
  headers: {},
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  body: null,
  isBase64Encoded: false,
  ...fields,
});

describe("netlify v2", () => {
  it("takes the client from context.ip and keeps a request id the edge already set", async () => {
    const adapter = handle(echo);
    const request = new Request("https://site.example.test/api/echo/42", { headers: { "x-nf-request-id": "from-edge" } });
    const seen = (await (await adapter(request, { ip: "::ffff:192.0.2.8", requestId: "from-context", params: { id: "42" } })).json()) as Seen;
    expect(seen.remoteAddr).toMatch(/^192\.0\.2\.8(:|$)/);
    expect(seen.headers["X-Nf-Request-Id"]).toEqual(["from-edge"]);
    // params are not forwarded on their own: they are in the path Go routes on.
    expect(seen.path).toBe("/api/echo/42");
    expect(Object.keys(seen.headers).filter((name) => /param/i.test(name))).toEqual([]);
  });

  it("works without a context (falls back to the edge's client header)", async () => {
    const adapter = handle(echo);
    const seen = (await (await adapter(new Request("https://site.example.test/api/echo", { headers: { "x-nf-client-connection-ip": "198.51.100.3" } }))).json()) as Seen;
    expect(seen.remoteAddr).toMatch(/^198\.51\.100\.3(:|$)/);
  });

  it("answers and logs 400 for a request it cannot pass on (its body already read)", async () => {
    const request = new Request("https://site.example.test/api/echo", { method: "POST", body: "read" });
    await request.text();
    const response = await handle(echo)(request, { requestId: "r-1" });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^the request cannot be served: /);
    expect(logged(echo.log, /^wasi-adapter: 400 POST \/api\/echo: the request cannot be served: /)).toHaveLength(1);
  });
});

describe("netlify lambda", () => {
  it("answers and logs 400 for an event whose URL does not parse", async () => {
    const result = await handleLambda(echo)(event({ rawUrl: "not a url", path: "/api/lambda-bad", httpMethod: "PUT" }));
    expect(result.statusCode).toBe(400);
    expect(result.body).toMatch(/^the request cannot be served: /);
    expect(logged(echo.log, /^wasi-adapter: 400 PUT \/api\/lambda-bad: the request cannot be served: /)).toHaveLength(1);
  });

  it("rebuilds the URL when the event has no rawUrl", async () => {
    const adapter = handleLambda(echo);
    const result = await adapter(
      event({
        rawUrl: "",
        path: "/api/echo/caf%C3%A9",
        headers: { host: "old.example.test", "x-forwarded-proto": "https" },
        multiValueQueryStringParameters: { tag: ["a", "b"] },
        queryStringParameters: { tag: "b" },
      }),
    );
    const seen = JSON.parse(result.body!) as Seen;
    expect(seen).toMatchObject({ host: "old.example.test", tls: true, path: "/api/echo/café", rawQuery: "tag=a&tag=b" });
  });

  it("fills X-Nf-Request-Id from the Lambda context when the event lacks it, and ignores a GET body", async () => {
    const adapter = handleLambda(echo);
    const result = await adapter(event({ body: "ignored", headers: { host: "site.example.test" } }), { awsRequestId: "aws-123" });
    const seen = JSON.parse(result.body!) as Seen;
    expect(seen.headers["X-Nf-Request-Id"]).toEqual(["aws-123"]);
    expect(seen.body).toBe("");
  });

  it("decodes a base64 request body", async () => {
    const adapter = handleLambda(echo);
    const result = await adapter(event({ httpMethod: "POST", body: Buffer.from("binary \u0000\u00ff").toString("base64"), isBase64Encoded: true }));
    expect((JSON.parse(result.body!) as Seen).body).toBe("binary \u0000\u00ff");
  });

  it.each([
    ["application/json", "text", '{"a":1}'],
    ["text/html; charset=utf-8", "text", "<p>hé</p>"],
    ["image/svg+xml", "text", "<svg/>"],
    ["application/problem+json", "text", "{}"],
    ["application/octet-stream", "base64", "bytes"],
    ["image/png", "base64", "png"],
    ["", "base64", "no type"],
  ])("sends %s as %s", async (type, encoding, body) => {
    const headers: [string, string][] = type ? [["Content-Type", type]] : [];
    const result = await handleLambda(fixed(headers, new TextEncoder().encode(body)))(event({}));
    expect(result.isBase64Encoded).toBe(encoding === "base64");
    expect(Buffer.from(result.body!, result.isBase64Encoded ? "base64" : "utf8").toString()).toBe(body);
  });

  it("sends compressed or invalid UTF-8 text as base64", async () => {
    const gzipped = await handleLambda(fixed([["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]], new Uint8Array([31, 139, 8])))(event({}));
    expect(gzipped.isBase64Encoded).toBe(true);
    const invalid = await handleLambda(fixed([["Content-Type", "text/plain"]], new Uint8Array([0xff, 0xfe, 0x41])))(event({}));
    expect(invalid.isBase64Encoded).toBe(true);
    expect([...Buffer.from(invalid.body!, "base64")]).toEqual([0xff, 0xfe, 0x41]);
  });

  it("puts single headers in headers, repeats and every Set-Cookie in multiValueHeaders", async () => {
    const result = await handleLambda(
      fixed(
        [
          ["Content-Type", "text/plain"],
          ["Set-Cookie", "a=1"],
          ["X-Multi", "one"],
          ["X-Multi", "two"],
        ],
        new Uint8Array(),
      ),
    )(event({}));
    expect(result.headers).toEqual({ "content-type": "text/plain" });
    expect(result.multiValueHeaders).toEqual({ "set-cookie": ["a=1"], "x-multi": ["one", "two"] });
    expect(result.body).toBe("");
    expect(result.isBase64Encoded).toBe(false);
  });
});
