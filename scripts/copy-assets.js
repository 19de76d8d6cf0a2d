// Copies non-TypeScript assets the compiled code loads at run time (Lua scripts, default configs) into dist/.
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const exts = new Set(['.lua', '.yaml', '.yml', '.json']);
// The operator console's browser files (plain JS, not compiled).
const consoleDir = path.join(root, 'services', 'breaker', 'console');
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (exts.has(path.extname(entry.name)) || dir === consoleDir) {
      const out = path.join(root, 'dist', path.relative(root, p));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.copyFileSync(p, out);
    }
  }
}
for (const top of ['libs', 'services']) if (fs.existsSync(path.join(root, top))) walk(path.join(root, top));
