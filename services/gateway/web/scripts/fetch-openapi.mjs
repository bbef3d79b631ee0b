// Save the running gateway's OpenAPI document as openapi.json (then run `npm run gen:api`).
// The gateway's address comes from VITALS_URL (default: where `make run` listens).
import { writeFile } from "node:fs/promises";

const base = (process.env.VITALS_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
let response;
try {
  response = await fetch(`${base}/openapi.json`);
} catch (err) {
  console.error(`cannot reach the gateway at ${base} (${err.cause?.code ?? err.message}): start it with \`make run\` or set VITALS_URL`);
  process.exit(1);
}
if (!response.ok) {
  console.error(`${base}/openapi.json answered ${response.status}`);
  process.exit(1);
}
const doc = await response.json();
await writeFile(new URL("../openapi.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
console.log(`openapi.json: ${Object.keys(doc.paths ?? {}).length} paths from ${base}`);
