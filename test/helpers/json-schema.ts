/**
 * A small JSON Schema (2020-12) checker for the keywords the generated schemas use, so tests can hold a
 * generated schema against real data without a validator dependency. An unknown keyword throws: a schema
 * this cannot check fully must not pass as checked.
 */
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'format', 'examples', 'default']);
const CHECKED = new Set([
  'type',
  'const',
  'enum',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'items',
  'properties',
  'required',
  'additionalProperties',
  'anyOf',
]);

/** The problems found, each naming the path; empty when `value` conforms. */
export function jsonSchemaErrors(schema: Schema, value: unknown, path = '$'): string[] {
  for (const key of Object.keys(schema))
    if (!ANNOTATIONS.has(key) && !CHECKED.has(key)) throw new Error(`unsupported keyword ${key} at ${path}`);
  const errors: string[] = [];
  const fail = (what: string) => errors.push(`${path}: ${what}`);
  if (schema.type !== undefined && !typeMatches(schema.type as string | string[], value))
    return [`${path}: expected type ${JSON.stringify(schema.type)}`];
  if ('const' in schema && value !== schema.const) fail(`expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    fail(`expected one of ${schema.enum.join(', ')}`);
  if (typeof value === 'string') {
    const length = [...value].length; // JSON Schema counts code points
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail('too short');
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail('too long');
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      fail(`does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('too few items');
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail('too many items');
    if (schema.items)
      value.forEach((item, i) =>
        errors.push(...jsonSchemaErrors(schema.items as Schema, item, `${path}[${i}]`)),
      );
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in value)) fail(`${name} is required`);
    for (const [name, v] of Object.entries(value)) {
      const sub = properties[name];
      if (sub) errors.push(...jsonSchemaErrors(sub, v, `${path}.${name}`));
      else if (schema.additionalProperties === false) fail(`${name} is not allowed`);
    }
  }
  if (
    Array.isArray(schema.anyOf) &&
    !schema.anyOf.some((s) => jsonSchemaErrors(s as Schema, value, path).length === 0)
  )
    fail('matches none of anyOf');
  return errors;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function typeMatches(type: string | string[], value: unknown): boolean {
  if (Array.isArray(type)) return type.some((t) => typeMatches(t, value));
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}
