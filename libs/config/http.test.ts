import { configErrorOf } from '../../test/helpers/config-error';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { z } from 'zod';
import { Registry } from 'prom-client';
import { selfSignedCert } from '../../test/helpers/self-signed';
import { ServiceHttp } from '../http/server';
import { silentLogger } from '../logger';
import { loadConfig } from './index';
import { httpEnvShape, httpServerSettings } from './http';

const schema = z.object(httpEnvShape);
const settings = (env: Record<string, string>) => httpServerSettings(loadConfig(schema, env));

describe('BULWARK_HTTP_* settings', () => {
  const tls = selfSignedCert();
  afterAll(() => tls.cleanup());

  it('defaults to limits of a few seconds and plain HTTP', () => {
    expect(settings({})).toEqual({
      limits: {
        headersTimeoutMs: 5000,
        requestTimeoutMs: 10000,
        keepAliveTimeoutMs: 5000,
        socketTimeoutMs: 15000,
        maxConnections: 1000,
        maxConnectionsPerAddress: 100,
        maxBodyBytes: 16384,
      },
    });
  });

  it('refuses bad values naming the variable', () => {
    expect(configErrorOf(() => settings({ BULWARK_HTTP_HEADERS_TIMEOUT_MS: 'soon' }))).toMatch(
      /BULWARK_HTTP_HEADERS_TIMEOUT_MS="soon": must be a duration in milliseconds/,
    );
    expect(configErrorOf(() => settings({ BULWARK_HTTP_MAX_CONNECTIONS: '0' }))).toMatch(
      /BULWARK_HTTP_MAX_CONNECTIONS="0"/,
    );
    expect(
      configErrorOf(() =>
        settings({ BULWARK_HTTP_HEADERS_TIMEOUT_MS: '9000', BULWARK_HTTP_REQUEST_TIMEOUT_MS: '8000' }),
      ),
    ).toMatch(/BULWARK_HTTP_HEADERS_TIMEOUT_MS=9000: must not exceed BULWARK_HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('stops at start naming the TLS variable whose file is missing or unreadable, or unset', () => {
    const missing = path.join(tls.dir, 'nope.pem');
    expect(
      configErrorOf(() =>
        settings({ BULWARK_HTTP_TLS_CERT_FILE: missing, BULWARK_HTTP_TLS_KEY_FILE: tls.keyFile }),
      ),
    ).toMatch(/^BULWARK_HTTP_TLS_CERT_FILE=".*nope.pem": cannot read the file \(ENOENT\)/);
    expect(
      configErrorOf(() =>
        settings({ BULWARK_HTTP_TLS_CERT_FILE: tls.certFile, BULWARK_HTTP_TLS_KEY_FILE: tls.dir }),
      ),
    ).toMatch(/^BULWARK_HTTP_TLS_KEY_FILE=.*cannot read the file \(EISDIR\)/);
    expect(configErrorOf(() => settings({ BULWARK_HTTP_TLS_CERT_FILE: tls.certFile }))).toMatch(
      /^BULWARK_HTTP_TLS_KEY_FILE=\(unset\): HTTPS needs both/,
    );
    const garbage = path.join(tls.dir, 'garbage.pem');
    fs.writeFileSync(garbage, 'not a key');
    expect(
      configErrorOf(() =>
        settings({ BULWARK_HTTP_TLS_CERT_FILE: tls.certFile, BULWARK_HTTP_TLS_KEY_FILE: garbage }),
      ),
    ).toMatch(/not a usable PEM certificate and matching key/);
  });

  it('serves HTTPS with the configured certificate', async () => {
    const s = settings({ BULWARK_HTTP_TLS_CERT_FILE: tls.certFile, BULWARK_HTTP_TLS_KEY_FILE: tls.keyFile });
    const server = new ServiceHttp({
      port: 0,
      registry: new Registry(),
      logger: silentLogger(),
      ready: () => ({ ready: true, reasons: [] }),
      ...s,
    });
    const port = await server.listen();
    try {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/healthz', ca: tls.cert }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
      expect(server.scheme).toBe('https');
    } finally {
      await server.close();
    }
  });
});
