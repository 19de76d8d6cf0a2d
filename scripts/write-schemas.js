// Writes the JSON Schemas and the OpenAPI document generated from the zod schemas (run after the build:
// `npm run schemas`). libs/published-schemas/generate.test.ts fails while the committed files are stale.
const fs = require('node:fs');
const path = require('node:path');
const { generatedFiles } = require('../dist/libs/published-schemas/generate');
const root = path.resolve(__dirname, '..');
const files = generatedFiles();
const eventsDir = path.join(root, 'docs/schemas/events');
fs.rmSync(eventsDir, { recursive: true, force: true }); // so a removed event type loses its file
for (const [rel, text] of files) {
  const out = path.join(root, rel);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text);
}
console.log(`wrote ${files.size} files`);
