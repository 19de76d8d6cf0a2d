import fs from 'node:fs';
import path from 'node:path';
import { jsonSchemaErrors } from '../../test/helpers/json-schema';
import { EVENT_SCHEMAS, type EventType } from '../events/schemas';
import { eventJsonSchema, generatedFiles, openApiDocument } from './generate';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/replay');

describe('published schemas', () => {
  it('the committed files are what `npm run schemas` generates (run it after changing a zod schema)', () => {
    const files = generatedFiles();
    for (const [rel, text] of files) {
      const committed = path.join(ROOT, rel);
      expect({ file: rel, exists: fs.existsSync(committed) }).toEqual({ file: rel, exists: true });
      expect({ file: rel, text: fs.readFileSync(committed, 'utf8') }).toEqual({ file: rel, text });
    }
    const stray = fs
      .readdirSync(path.join(ROOT, 'docs/schemas/events'))
      .map((f) => `docs/schemas/events/${f}`)
      .filter((f) => !files.has(f));
    expect(stray).toEqual([]);
  });

  it('has one JSON Schema per event type, requiring the envelope and pinning the type', () => {
    expect(EVENT_SCHEMAS.size).toBe(11);
    for (const type of EVENT_SCHEMAS.keys()) {
      const s = eventJsonSchema(type);
      expect(s.required).toEqual(expect.arrayContaining(['eventId', 'type', 'occurredAt', 'userId']));
      expect((s.properties as Record<string, unknown>).type).toMatchObject({ const: type });
      expect(s.additionalProperties).toBeUndefined(); // unknown fields allowed, as the contract says
    }
    expect(eventJsonSchema('mfa.passed')).toMatchObject({
      properties: { factor: { enum: ['totp', 'sms', 'email', 'webauthn', 'biometric'] } },
    });
    expect(eventJsonSchema('withdrawal.approved').required).toEqual(
      expect.arrayContaining(['withdrawalId', 'amount', 'amountUsd', 'asset', 'approval']),
    );
  });

  it('accepts every fixture event the zod schema accepts, and rejects what zod rejects on its fields', () => {
    let checked = 0;
    for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl'))) {
      const lines = fs.readFileSync(path.join(FIXTURES, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // blank or deliberately broken lines: not events of any type
        }
        const zod = EVENT_SCHEMAS.get(event.type as EventType);
        if (!zod || !zod.safeParse(event).success) return;
        const type = event.type as EventType;
        expect({ at: `${file}:${i + 1}`, errors: jsonSchemaErrors(eventJsonSchema(type), event) }).toEqual({
          at: `${file}:${i + 1}`,
          errors: [],
        });
        // The same event broken in ways both must refuse: a missing envelope field, a wrong type value.
        const { userId: _u, ...noUser } = event;
        expect(zod.safeParse(noUser).success).toBe(false);
        expect(jsonSchemaErrors(eventJsonSchema(type), noUser)).toContain('$: userId is required');
        expect(jsonSchemaErrors(eventJsonSchema(type), { ...event, type: 'other' })).not.toEqual([]);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('the JSON Schema refuses the field values zod refuses', () => {
    const mfa = {
      eventId: 'a-2',
      type: 'mfa.passed',
      occurredAt: '2022-01-17T00:01:20.000Z',
      userId: 'u-42',
      sessionId: 's-9',
      factor: 'totp',
    };
    const schema = eventJsonSchema('mfa.passed');
    expect(jsonSchemaErrors(schema, mfa)).toEqual([]);
    for (const bad of [
      { factor: 'carrier-pigeon' },
      { eventId: '' },
      { sessionId: 7 },
      { userId: 'x'.repeat(129) },
    ]) {
      const event = { ...mfa, ...bad };
      expect(EVENT_SCHEMAS.get('mfa.passed')!.safeParse(event).success).toBe(false);
      expect(jsonSchemaErrors(schema, event)).not.toEqual([]);
    }
    const approved = eventJsonSchema('withdrawal.approved');
    expect(jsonSchemaErrors(approved, { amount: 1.5 }).join()).toMatch(/amount: expected type "string"/);
    expect(jsonSchemaErrors(approved, { asset: 'eth' }).join()).toMatch(/asset: does not match/);
  });

  it('describes every breaker route in OpenAPI 3.1 with schemas that resolve', () => {
    const doc = openApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/withdrawals/status',
        '/v1/breaker/halt',
        '/v1/breaker/resume',
        '/v1/breaker/audit',
      ]),
    );
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(schemas).toHaveProperty(ref.split('/').pop()!);
  });
});
