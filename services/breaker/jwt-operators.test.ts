import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ConfigError } from '../../libs/errors';
import { startTestIdp, unsignedToken, type TestIdp } from '../../test/helpers/jwks';
import { breakerEnvSchema } from './config';
import { JwtOperators, jwtSettingsFromEnv, type JwtOutcome } from './jwt-operators';

const env = (extra: Record<string, string>) => breakerEnvSchema.parse(extra);

function reasonOf(r: JwtOutcome): string {
  if ('operator' in r) throw new Error(`expected a refusal, got operator ${r.operator.name}`);
  return r.reason;
}

describe('JWT operators against a JWKS served on 127.0.0.1', () => {
  let idp: TestIdp;
  let jwt: JwtOperators;

  beforeAll(async () => {
    idp = await startTestIdp('ES256');
    jwt = new JwtOperators(
      jwtSettingsFromEnv(
        env({
          BULWARK_OIDC_ISSUER: idp.issuer,
          BULWARK_OIDC_AUDIENCE: idp.audience,
          BULWARK_OIDC_JWKS_URL: idp.jwksUrl,
          BULWARK_OIDC_NAME_CLAIM: 'preferred_username',
          BULWARK_OIDC_ROLES_CLAIM: 'realm_access.roles',
          BULWARK_OIDC_ROLE_MAP: 'breaker-halt=halt,breaker-resume=resume,audit=audit',
        }),
      )!,
    );
  });
  afterAll(() => idp.close());

  const claims = (roles: string[], name = 'alice') => ({
    sub: `id-${name}`,
    preferred_username: name,
    realm_access: { roles },
  });

  it('accepts a valid token: its name claim and the mapped roles, other roles ignored', async () => {
    const r = await jwt.verify(await idp.sign(claims(['breaker-halt', 'breaker-resume', 'offline_access'])));
    expect('operator' in r && r.operator.name).toBe('alice');
    expect('operator' in r && [...r.operator.roles].sort()).toEqual(['halt', 'resume']);
    // A valid token without a breaker role authenticates with no roles (the API answers 403).
    const none = await jwt.verify(await idp.sign(claims(['offline_access'], 'bob')));
    expect('operator' in none && none.operator.roles.size).toBe(0);
  });

  it('refuses expired, not-yet-valid, wrong issuer, wrong audience, foreign key, unknown key id and alg none', async () => {
    const c = claims(['breaker-halt']);
    expect(reasonOf(await jwt.verify(await idp.sign(c, { expiresIn: -120 })))).toBe('expired');
    expect(reasonOf(await jwt.verify(await idp.sign(c, { notBefore: 600 })))).toBe('claim nbf invalid');
    expect(reasonOf(await jwt.verify(await idp.sign(c, { issuer: 'https://evil.example/' })))).toBe(
      'wrong issuer',
    );
    expect(reasonOf(await jwt.verify(await idp.sign(c, { audience: 'someone-else' })))).toBe(
      'wrong audience',
    );
    expect(reasonOf(await jwt.verify(await idp.sign(c, { foreignKey: true })))).toBe('bad signature');
    expect(reasonOf(await jwt.verify(await idp.sign(c, { foreignKey: true, kid: 'k2' })))).toBe(
      'signed by an unknown key',
    );
    const payload = { ...c, iss: idp.issuer, aud: idp.audience, exp: Math.floor(Date.now() / 1000) + 300 };
    expect(reasonOf(await jwt.verify(unsignedToken({ alg: 'none', typ: 'JWT' }, payload)))).toMatch(
      /algorithm "none" is not allowed/,
    );
    // The same claims re-signed as HS256 with the public key's x as secret: HMAC is never accepted.
    const hs = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('the-public-key-as-a-secret'));
    expect(reasonOf(await jwt.verify(hs))).toMatch(/algorithm "HS256" is not allowed/);
    expect(reasonOf(await jwt.verify('not.a.jwt'))).toBe('not a well-formed JWT');
  });

  it('refuses a token without exp, and a name that breaks the operator name rules', async () => {
    const noExp = unsignedToken({ alg: 'ES256', kid: 'k1' }, { iss: idp.issuer, aud: idp.audience });
    expect(reasonOf(await jwt.verify(noExp))).toBe('no expiry (exp)');
    for (const name of ['breaker', 'alice smith', 'a|b', ''])
      expect(reasonOf(await jwt.verify(await idp.sign(claims(['breaker-halt'], name))))).toMatch(
        /claim preferred_username is missing or not an operator name/,
      );
  });

  it('says "unavailable" when the JWKS cannot be fetched, without fetching again for every token', async () => {
    const down = await startTestIdp('ES256');
    const settings = jwtSettingsFromEnv(
      env({
        BULWARK_OIDC_ISSUER: down.issuer,
        BULWARK_OIDC_AUDIENCE: down.audience,
        BULWARK_OIDC_JWKS_URL: down.jwksUrl,
      }),
    )!;
    const token = await down.sign({ sub: 'alice', roles: ['halt'] });
    await down.close();
    const j = new JwtOperators(settings);
    const first = await j.verify(token);
    expect(first).toMatchObject({ unavailable: true });
    expect(await j.verify(token)).toMatchObject({ unavailable: true, reason: /moments ago/ });
  });

  it('reads keys from a JWKS file', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwks-'));
    const file = path.join(dir, 'jwks.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'f1' }] }));
    const j = new JwtOperators(
      jwtSettingsFromEnv(
        env({
          BULWARK_OIDC_ISSUER: 'https://idp.example/',
          BULWARK_OIDC_AUDIENCE: 'b',
          BULWARK_OIDC_JWKS_FILE: file,
        }),
      )!,
    );
    const token = await new SignJWT({ sub: 'carol', roles: 'audit halt' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'f1' })
      .setIssuer('https://idp.example/')
      .setAudience('b')
      .setExpirationTime('5m')
      .sign(privateKey);
    const r = await j.verify(token);
    expect('operator' in r && [r.operator.name, [...r.operator.roles].sort()]).toEqual([
      'carol',
      ['audit', 'halt'],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('checks its settings at start, naming the variable', () => {
    const base = { BULWARK_OIDC_ISSUER: 'https://idp.example/', BULWARK_OIDC_AUDIENCE: 'b' };
    expect(jwtSettingsFromEnv(env({}))).toBeUndefined();
    const cases: [Record<string, string>, RegExp][] = [
      [{ BULWARK_OIDC_JWKS_URL: 'https://idp.example/jwks' }, /BULWARK_OIDC_ISSUER is unset/],
      [base, /exactly one of BULWARK_OIDC_JWKS_URL and BULWARK_OIDC_JWKS_FILE/],
      [{ ...base, BULWARK_OIDC_JWKS_URL: 'http://idp.example/jwks' }, /must be https/],
      [
        { ...base, BULWARK_OIDC_JWKS_URL: 'https://x/j', BULWARK_OIDC_ALGORITHMS: 'HS256' },
        /"HS256" is not allowed/,
      ],
      [
        { ...base, BULWARK_OIDC_JWKS_URL: 'https://x/j', BULWARK_OIDC_ALGORITHMS: 'none' },
        /"none" is not allowed/,
      ],
      [{ ...base, BULWARK_OIDC_JWKS_URL: 'https://x/j', BULWARK_OIDC_ROLE_MAP: 'admins=root' }, /ROLE_MAP/],
    ];
    for (const [vars, re] of cases) {
      let err: unknown;
      try {
        jwtSettingsFromEnv(env(vars));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(re);
    }
    expect(
      () => new JwtOperators(jwtSettingsFromEnv(env({ ...base, BULWARK_OIDC_JWKS_FILE: '/nonexistent' }))!),
    ).toThrow(/BULWARK_OIDC_JWKS_FILE=.*cannot read/);
  });
});
