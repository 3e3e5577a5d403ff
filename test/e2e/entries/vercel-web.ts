// A Vercel Node.js function in the Web form: `export default { fetch }`.
import { fileURLToPath } from "node:url";
import { handleFetch } from "../../../src/adapters/vercel/index.js";

export default { fetch: handleFetch({ wasm: fileURLToPath(new URL("./echo.wasm", import.meta.url)) }) };
