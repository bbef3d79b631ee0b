// Save the gateway's contract: its OpenAPI document (openapi.json, from a running gateway)
// and the analytics answers' JSON Schema (analytics.schema.json, from the Python Structs
// the analytics routes encode). Then run `npm run gen:api`.
// The gateway's address comes from VITALS_URL (default: where `make run` listens); the
// Python with the gateway installed from VITALS_PYTHON (default: the repository's .venv).
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = (path) => new URL(path, import.meta.url);
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
await writeFile(here("../openapi.json"), JSON.stringify(doc, null, 2) + "\n");
console.log(`openapi.json: ${Object.keys(doc.paths ?? {}).length} paths from ${base}`);

const python = process.env.VITALS_PYTHON ?? fileURLToPath(here("../../../../.venv/bin/python"));
// The components the analytics routes add to the OpenAPI document once they are mounted.
const code = 'import json, sys; from vitals_gateway.analytics.api import SCHEMAS; json.dump({"components": {"schemas": SCHEMAS}}, sys.stdout, indent=2, sort_keys=True)';
let schema;
try {
  schema = execFileSync(python, ["-c", code], { encoding: "utf8" });
} catch (err) {
  console.error(`cannot read the analytics answers' schema with ${python} (${err.message.split("\n")[0]}): run \`make install\` or set VITALS_PYTHON`);
  process.exit(1);
}
await writeFile(here("../analytics.schema.json"), schema + "\n");
console.log("analytics.schema.json: the analytics answers");
