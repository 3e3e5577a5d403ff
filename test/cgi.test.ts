import { describe, expect, it } from "vitest";
import { bytesAsText, CgiOutputError, CgiOutputParser, environWith, metaVariables, parseHead, textAsBytes } from "../src/wasi-cgi/cgi.js";

const entries = (block: string) => {
  expect(block.endsWith("\0")).toBe(true);
  return block.slice(0, -1).split("\0");
};
const asMap = (vars: string[]) => Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]));

describe("meta-variables", () => {
  it("gives Go a header value's own bytes: a UTF-8 value held one character per byte becomes that text", () => {
    const request = { method: "GET", url: "http://example.test/", headers: [["x-name", "Jos\u00c3\u00a9"], ["x-latin1", "\u00e9"]] as [string, string][] };
    const env = asMap(entries(metaVariables(request, null)));
    expect(env.HTTP_X_NAME).toBe("Jos\u00e9");
    expect(env.HTTP_X_LATIN1).toBe("\u00e9");
  });

  it("follows RFC 3875 and what net/http/cgi expects", () => {
    const request = {
      method: "POST",
      url: "https://example.test/api/x%20y?a=1&a=2",
      headers: new Headers({ "content-type": "text/plain", "x-forwarded-for": "1.2.3.4", proxy: "evil", "accept-language": "sv" }),
      remoteAddr: "198.51.100.1",
      remotePort: 4242,
    };
    const env = asMap(entries(metaVariables(request, 5)));
    expect(env).toMatchObject({
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REQUEST_METHOD: "POST",
      REQUEST_URI: "/api/x%20y?a=1&a=2",
      SCRIPT_NAME: "",
      PATH_INFO: "/api/x y",
      QUERY_STRING: "a=1&a=2",
      CONTENT_LENGTH: "5",
      CONTENT_TYPE: "text/plain",
      HTTP_HOST: "example.test",
      HTTP_X_FORWARDED_FOR: "1.2.3.4",
      HTTP_ACCEPT_LANGUAGE: "sv",
      HTTPS: "on",
      SERVER_NAME: "example.test",
      SERVER_PORT: "443",
      REMOTE_ADDR: "198.51.100.1",
      REMOTE_PORT: "4242",
    });
    expect(env.HTTP_PROXY).toBeUndefined();
    expect(env.HTTP_CONTENT_TYPE).toBeUndefined();
  });

  it("omits CONTENT_LENGTH and HTTPS for a plain GET", () => {
    const env = asMap(entries(metaVariables({ method: "GET", url: "http://localhost:3000/", headers: [] }, null)));
    expect(env.CONTENT_LENGTH).toBeUndefined();
    expect(env.HTTPS).toBeUndefined();
    expect(env.SERVER_PORT).toBe("3000");
    expect(env.REMOTE_ADDR).toBe("127.0.0.1");
  });

  it("names headers the same in every request, however many names it has seen", () => {
    const names = Array.from({ length: 600 }, (_, i) => `X-Name-${i}`);
    for (const round of [1, 2]) {
      const env = asMap(entries(metaVariables({ method: "GET", url: "http://localhost/", headers: names.map((name, i) => [name, `${round}:${i}`]) }, null)));
      expect(env["HTTP_X_NAME_0"]).toBe(`${round}:0`);
      expect(env["HTTP_X_NAME_599"]).toBe(`${round}:599`);
      expect(Object.keys(env).filter((name) => name.startsWith("HTTP_X_NAME_")).length).toBe(600);
    }
  });

  it("takes the URL parsed already as it takes its text", () => {
    const text = "https://h.test:8443/api/caf%C3%A9/x?q=a%20b";
    const request = { method: "GET", headers: [["Accept", "*/*"]] as [string, string][], remoteAddr: "10.0.0.1" };
    const fromUrl = metaVariables({ ...request, url: new URL(text) }, null);
    expect(fromUrl).toBe(metaVariables({ ...request, url: text }, null));
    expect(asMap(entries(fromUrl))).toMatchObject({ SERVER_PORT: "8443", PATH_INFO: "/api/café/x", QUERY_STRING: "q=a%20b", HTTPS: "on" });
  });

  it("names each variable once, Host included", () => {
    const block = metaVariables({ method: "GET", url: "http://localhost/", headers: [["Host", "h.test"], ["Accept", "*/*"]] }, null);
    const names = entries(block).map((entry) => entry.slice(0, entry.indexOf("=")));
    expect(names.length).toBe(new Set(names).size);
    expect(asMap(entries(block)).HTTP_HOST).toBe("h.test");
  });

  it("leaves out headers whose names hold an underscore, which would pass for hyphenated ones", () => {
    const env = asMap(
      entries(
        metaVariables(
          { method: "GET", url: "http://localhost/", headers: [["x_forwarded_for", "6.6.6.6"], ["x-forwarded-for", "1.2.3.4"], ["x_only", "1"]] },
          null,
        ),
      ),
    );
    expect(env.HTTP_X_FORWARDED_FOR).toBe("1.2.3.4");
    expect(env.HTTP_X_ONLY).toBeUndefined();
  });

  it("never lets the configured env override a meta-variable", () => {
    const block = metaVariables({ method: "GET", url: "http://localhost/", headers: [["Host", "h.test"]] }, null);
    const env = environWith(["REQUEST_METHOD=DELETE", "GREETING=hi"], block);
    expect(env.filter((entry) => entry.startsWith("REQUEST_METHOD="))).toEqual(["REQUEST_METHOD=GET"]);
    expect(asMap(env)).toMatchObject({ GREETING: "hi", HTTP_HOST: "h.test" });
  });
});

describe("CGI output", () => {
  it("parses Status, repeated headers, LF or CRLF line ends", () => {
    const head = parseHead("Status: 404 Not Here\nContent-Type: text/plain\r\nSet-Cookie: a=1\nSet-Cookie: b=2");
    expect(head.status).toBe(404);
    expect(head.statusText).toBe("Not Here");
    expect(head.headers).toEqual([
      ["Content-Type", "text/plain"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ]);
  });

  it("tells local redirects from client redirects", () => {
    expect(parseHead("Location: /next?x=1").localRedirect).toBe("/next?x=1");
    const client = parseHead("Location: https://example.com/");
    expect(client.status).toBe(302);
    expect(client.localRedirect).toBeUndefined();
    expect(parseHead("Status: 307\r\nLocation: /kept").status).toBe(307);
    expect(parseHead("Status: 307\r\nLocation: /kept").localRedirect).toBeUndefined();
    expect(parseHead("Location: //evil.example/").status).toBe(302);
  });

  it("rejects malformed heads", () => {
    expect(() => parseHead("no colon here")).toThrow(CgiOutputError);
    expect(() => parseHead("Status: abc")).toThrow(CgiOutputError);
    expect(() => parseHead("Status: 700 Nope")).toThrow(CgiOutputError);
    expect(() => parseHead("Bad Name: x")).toThrow(CgiOutputError);
    expect(() => parseHead("X-A: a\rb")).toThrow(CgiOutputError);
  });

  it("rejects header values no response can carry: control characters other than tab", () => {
    expect(() => parseHead("X-A: a\x01b")).toThrow(/invalid CGI header "X-A: a\\u0001b"/);
    expect(() => parseHead("X-A: a\x7fb")).toThrow(CgiOutputError);
    expect(() => parseHead("Status: 200 O\x02K")).toThrow(/invalid CGI Status header/);
    expect(parseHead("X-A: a\tb caf\u00e9").headers).toEqual([["X-A", "a\tb caf\u00e9"]]);
  });

  it("keeps header values as the bytes the program wrote, UTF-8 or not; a local redirect's path is read as UTF-8", () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("X-Utf8: caf\u00e9 \u2713\nX-Latin1: "),
      0xe9,
      ...new TextEncoder().encode("\nLocation: /t\u00e4rget\n\nbody"),
    ]);
    const parser = new CgiOutputParser();
    expect(new TextDecoder().decode(parser.push(bytes))).toBe("body");
    const head = parser.finish();
    expect(head.headers).toEqual([
      ["X-Utf8", "caf\u00c3\u00a9 \u00e2\u009c\u0093"],
      ["X-Latin1", "\u00e9"],
      ["Location", "/t\u00c3\u00a4rget"],
    ]);
    expect(head.localRedirect).toBe("/t\u00e4rget");
  });

  it("converts header values between bytes (one character each) and UTF-8 text", () => {
    expect(bytesAsText("caf\u00c3\u00a9")).toBe("caf\u00e9");
    expect(bytesAsText("plain")).toBe("plain");
    // Not UTF-8, or text already: unchanged.
    expect(bytesAsText("caf\u00e9")).toBe("caf\u00e9");
    expect(bytesAsText("\u2713")).toBe("\u2713");
    expect(textAsBytes("caf\u00e9 \u2713")).toBe("caf\u00c3\u00a9 \u00e2\u009c\u0093");
    expect(textAsBytes("plain")).toBe("plain");
    expect(bytesAsText(textAsBytes("\u{1f600} and more"))).toBe("\u{1f600} and more");
  });

  it("splits a head from a binary body across arbitrary chunk boundaries", () => {
    const body = new Uint8Array([0, 13, 10, 13, 10, 255, 1, 2]);
    const whole = new Uint8Array([...new TextEncoder().encode("Status: 201 Created\r\nX-A: 1\r\n\r\n"), ...body]);
    for (let split = 1; split < whole.length; split++) {
      const parser = new CgiOutputParser();
      const first = parser.push(whole.slice(0, split));
      const second = parser.push(whole.slice(split));
      expect(new Uint8Array([...first, ...second])).toEqual(body);
      expect(parser.finish().status).toBe(201);
    }
  });

  it("finds a head split over several chunks, and reports one that never ends past 256 KiB", () => {
    const parser = new CgiOutputParser();
    const encode = (text: string) => new TextEncoder().encode(text);
    expect(parser.push(encode("X-A: 1\r"))).toHaveLength(0);
    expect(parser.push(encode("\nX-B:"))).toHaveLength(0);
    expect(parser.push(new Uint8Array(0))).toHaveLength(0);
    expect(new TextDecoder().decode(parser.push(encode(" 2\r\n\r\nbody")))).toBe("body");
    expect(parser.finish().headers).toEqual([["X-A", "1"], ["X-B", "2"]]);
    const endless = new CgiOutputParser();
    expect(() => {
      for (let i = 0; i < 5; i++) endless.push(encode(`X-Long: ${"a".repeat(64 * 1024)}\n`));
    }).toThrow(/first 256 KiB/);
    const empty = new CgiOutputParser();
    empty.push(new Uint8Array(0));
    expect(() => empty.finish()).toThrow(/wrote no CGI response/);
  });

  it("reports output with no head", () => {
    const parser = new CgiOutputParser();
    parser.push(new TextEncoder().encode("just text"));
    expect(() => parser.finish()).toThrow(/no CGI header block/);
    expect(() => new CgiOutputParser().finish()).toThrow(/wrote no CGI response/);
  });
});
