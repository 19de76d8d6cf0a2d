import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throw-away certificate for 127.0.0.1, made with openssl in a fresh temp dir (never committed). The
 * certificate is its own CA: clients trust it by passing `cert` as `ca`.
 */
export function selfSignedCert(): {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  cleanup(): void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return {
    dir,
    certFile,
    keyFile,
    cert: fs.readFileSync(certFile),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
