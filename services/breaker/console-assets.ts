import fs from 'node:fs';
import path from 'node:path';
import type { ServiceHttp } from '../../libs/http/server';

/**
 * The operator console's static files, served by the breaker under /console/. The page holds no data and no
 * secret: everything it shows comes from the operator API with the operator's own bearer token. A strict
 * Content-Security-Policy: scripts, styles and requests only from this origin, no inline script, no frames.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export function registerConsole(http: ServiceHttp, dir = path.join(__dirname, 'console')): void {
  // Read once at start: a missing asset stops the start, not the first operator at 3 a.m.
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(FILES)) assets.set(name, fs.readFileSync(path.join(dir, name)));
  const headers = (type: string) => ({
    'content-type': type,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  http.route('GET', '/console', () => ({ status: 308, body: {}, headers: { location: '/console/' } }));
  http.route('GET', '/console/', () => ({
    status: 200,
    body: null,
    raw: assets.get('index.html')!,
    headers: headers(FILES['index.html']!),
  }));
  for (const name of ['app.js', 'app.css'])
    http.route('GET', `/console/${name}`, () => ({
      status: 200,
      body: null,
      raw: assets.get(name)!,
      headers: headers(FILES[name]!),
    }));
}
