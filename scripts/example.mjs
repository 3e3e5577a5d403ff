// Interim example: serves the hello fixture with the Node adapter until the CLI lands.
import { serve } from "../dist/adapters/node/index.js";

const port = Number(process.env.PORT ?? 3000);
await serve({ wasm: new URL("../fixtures/.build/hello.persistent.wasm", import.meta.url), port, log: true });
console.log(`try: curl "http://localhost:${port}/api/hello?name=go"`);
