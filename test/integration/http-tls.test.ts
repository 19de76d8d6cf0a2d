import { spawnSync } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { newOperatorLine } from '../../services/breaker/operators';
import { detectorEnv } from '../helpers/detector';
import { provisionTopics, realStack, waitFor } from '../helpers/env';
import { selfSignedCert } from '../helpers/self-signed';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process';

/**
 * Optional HTTPS for the services' APIs (issue 12), run from dist/ with a certificate openssl makes in a temp
 * dir: the detector serves HTTPS when both files are set; a missing file stops a service at start, naming
 * the variable.
 */
jest.setTimeout(90000);

const DIST = path.resolve(__dirname, '../../dist/services');

function httpsGet(port: number, urlPath: string, ca: Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: urlPath, ca }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
      })
      .on('error', reject);
  });
}

/** Sends a plain-HTTP request to a TLS port; resolves once the server has closed the connection. */
function plainToTls(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
}

describe('HTTPS for the services', () => {
  const { kafka, fresh } = realStack();
  const tls = selfSignedCert();
  const running: ServiceProcess[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop();
    tls.cleanup();
  });

  it('the detector serves /healthz and /readyz over HTTPS, and shrugs off plain HTTP', async () => {
    const prefix = fresh('http-tls');
    await provisionTopics(kafka, prefix);
    const detector = await startServiceProcess(
      'detector',
      detectorEnv(prefix, {
        BULWARK_LOG_LEVEL: 'info',
        BULWARK_HTTP_TLS_CERT_FILE: tls.certFile,
        BULWARK_HTTP_TLS_KEY_FILE: tls.keyFile,
      }),
    );
    running.push(detector);
    await waitFor(async () => (await httpsGet(detector.port, '/readyz', tls.cert)).status === 200, 60000);
    expect(await httpsGet(detector.port, '/healthz', tls.cert)).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    // A client that does not trust the certificate is refused by its own TLS check.
    await expect(httpsGet(detector.port, '/healthz', Buffer.from(''))).rejects.toThrow();
    await plainToTls(detector.port);
    expect(detector.running()).toBe(true);
    expect(await httpsGet(detector.port, '/healthz', tls.cert)).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    expect(detector.lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
  });

  it('a missing or unreadable certificate or key stops the service at start, naming the variable', () => {
    const missing = path.join(tls.dir, 'missing.pem');
    const detector = spawnSync(process.execPath, [path.join(DIST, 'detector', 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        ...detectorEnv(fresh('http-tls-bad')),
        BULWARK_HTTP_TLS_CERT_FILE: missing,
        BULWARK_HTTP_TLS_KEY_FILE: tls.keyFile,
      },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(detector.status).toBe(1);
    expect(detector.stderr.trim()).toMatch(
      /^bulwark detector: BULWARK_HTTP_TLS_CERT_FILE=".*missing\.pem": cannot read the file \(ENOENT\)/,
    );
    expect(detector.stderr).not.toMatch(/\n\s+at /);

    const ops = [newOperatorLine('alice').line, newOperatorLine('bob').line].join(',');
    const breaker = spawnSync(process.execPath, [path.join(DIST, 'breaker', 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        ...detectorEnv(fresh('http-tls-bad')),
        BULWARK_OPERATORS: ops,
        BULWARK_HTTP_TLS_CERT_FILE: tls.certFile,
        BULWARK_HTTP_TLS_KEY_FILE: tls.dir, // a directory: unreadable as a file
      },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(breaker.status).toBe(1);
    expect(breaker.stderr.trim()).toMatch(
      /^bulwark breaker: BULWARK_HTTP_TLS_KEY_FILE=".*": cannot read the file \(EISDIR\)/,
    );
  });
});
