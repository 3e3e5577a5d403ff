// A Netlify v1 (Lambda-compatible) function, reached at /.netlify/functions/<file name>.
// The modules are embedded in the bundle (esbuild's binary loader): Netlify bundles v1
// functions to CommonJS in a directory of its own, where a .wasm beside the source is not
// shipped unless included.
import binaryWasm from "../../../fixtures/.build/binary.persistent.wasm";
import echoWasm from "../../../fixtures/.build/echo.persistent.wasm";
import { handleLambda } from "../../../src/adapters/netlify/index.js";

const echo = handleLambda({ wasm: echoWasm });
const binary = handleLambda({ wasm: binaryWasm });

export const handler: typeof echo = (event, context) => (event.path.includes("/binary") ? binary(event, context) : echo(event, context));
