// After tsup (npm run build → postbuild): puts the files the platforms load by convention into
// dist/. Vercel and Netlify find an integration through package.json "main" (not "exports"):
//   dist/platform.cjs   Vercel Runtime (version, build) and Netlify Build plugin in one module
//   dist/manifest.yml   the Netlify plugin manifest, next to "main" where Netlify looks for it
import { copyFileSync, mkdirSync } from "node:fs";

const dist = new URL("../../dist/", import.meta.url);
mkdirSync(dist, { recursive: true });
copyFileSync(new URL("./platform.cjs", import.meta.url), new URL("platform.cjs", dist));
copyFileSync(new URL("./netlify/manifest.yml", import.meta.url), new URL("manifest.yml", dist));
